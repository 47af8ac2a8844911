"""What can go wrong in content-svc, in the domain's words."""

from qunyun_shared.problems import Conflict, Forbidden, InvalidInput, NotFound


class CommunityNotFound(NotFound):
    slug = "community-not-found"


class MemberNotFound(NotFound):
    """A member content-svc has never heard of in the caller's tenant: another tenant's looks the same."""

    slug = "member-not-found"


class ContentNotFound(NotFound):
    slug = "content-not-found"


class PlacementNotFound(NotFound):
    slug = "placement-not-found"


class ReviewCaseNotFound(NotFound):
    slug = "review-case-not-found"


class SurveyNotFound(NotFound):
    slug = "survey-not-found"


class CommunityArchived(Conflict):
    slug = "community-archived"


class ContentNotReady(Conflict):
    """Held, rejected, withdrawn or erased content cannot be scheduled or answered."""

    slug = "content-not-ready"


class FloodingPolicyBreached(Conflict):
    """A schedule would push too often, or too much promotion, into a community."""

    slug = "flooding-policy-breached"


class OutsideTarget(Conflict):
    slug = "outside-target"


class AlreadyPublished(Conflict):
    slug = "already-published"


class AlreadyDecided(Conflict):
    slug = "review-already-decided"


class AlreadyAnswered(Conflict):
    slug = "survey-already-answered"


class SurveyClosed(Conflict):
    slug = "survey-closed"


class NotInCommunity(Forbidden):
    slug = "not-in-community"


class ScheduleInPast(InvalidInput):
    slug = "schedule-in-past"


class InvalidAnswers(InvalidInput):
    slug = "invalid-answers"
