"""What can go wrong in the gateway, in the domain's words."""

from qunyun_shared.problems import Conflict, DomainError, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    slug = "invalid-credentials"


class TenantNameTaken(Conflict):
    slug = "tenant-name-taken"


class UnknownRoute(NotFound):
    slug = "unknown-route"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UpstreamTimeout(DomainError):
    status, slug, title = 504, "upstream-timeout", "A service behind the gateway did not answer in time"
