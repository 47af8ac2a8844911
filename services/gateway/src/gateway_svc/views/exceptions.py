"""What can go wrong with an aggregated view, in the domain's words."""

from qunyun_shared.problems import NotFound


class MemberNotFound(NotFound):
    slug, title = "member-not-found", "Member not found"


class CommunityNotFound(NotFound):
    slug, title = "community-not-found", "Community not found"
