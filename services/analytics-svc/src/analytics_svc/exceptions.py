"""analytics-svc's domain errors, each a problem+json type."""

from qunyun_shared.problems import Forbidden, NotFound


class CommunityNotFound(NotFound):
    slug, title = "community-not-found", "Community not found"


class MemberNotFound(NotFound):
    slug, title = "member-not-found", "Member not found"


class AlertRuleNotFound(NotFound):
    slug, title = "alert-rule-not-found", "Alert rule not found"


class PermissionDenied(Forbidden):
    slug, title = "permission-denied", "Permission denied"


class ModelNotFitted(NotFound):
    slug, title = "model-not-fitted", "No model fitted yet"


class RefitJobNotFound(NotFound):
    slug, title = "refit-not-found", "Refit not found"
