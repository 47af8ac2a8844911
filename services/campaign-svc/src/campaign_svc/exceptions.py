"""What can go wrong in campaign-svc, in the domain's words."""

from qunyun_shared.problems import NotFound


class ProspectNotFound(NotFound):
    slug = "prospect-not-found"
