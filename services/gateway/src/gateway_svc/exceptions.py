"""What can go wrong in the gateway, in the domain's words."""

from qunyun_shared.problems import Conflict, DomainError, InvalidInput, NotFound, Unauthorized


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


class EmailTaken(Conflict):
    slug = "email-taken"


class OperatorNotFound(NotFound):
    slug = "operator-not-found"


class OperatorSelfChange(Conflict):
    slug = "operator-self-change"


class WrongPassword(InvalidInput):
    slug = "wrong-password"


class ApiKeyNotFound(NotFound):
    slug = "api-key-not-found"


class UnknownPermission(InvalidInput):
    slug = "unknown-permission"


class TenantNotFound(NotFound):
    slug = "tenant-not-found"


class RateLimited(DomainError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class PasswordHashingBusy(DomainError):
    """Every slot for checking a password is taken and the queue for them is full."""

    status, slug, title = 503, "sign-in-busy", "Too many sign-ins are being checked at once"
    retry_after_seconds = 1
