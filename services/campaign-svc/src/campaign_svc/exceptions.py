"""What can go wrong in campaign-svc, in the domain's words."""

from qunyun_shared.problems import Conflict, InvalidInput, NotFound


class MemberNotFound(NotFound):
    slug = "member-not-found"


class CampaignNotFound(NotFound):
    slug = "campaign-not-found"


class CampaignNotRunning(Conflict):
    slug = "campaign-not-running"


class BudgetExhausted(Conflict):
    slug = "budget-exhausted"


class InvalidCampaign(InvalidInput):
    slug = "invalid-campaign"


class CouponTemplateNotFound(NotFound):
    slug = "coupon-template-not-found"


class CouponNotFound(NotFound):
    slug = "coupon-not-found"


class CouponOutOfStock(Conflict):
    slug = "coupon-out-of-stock"


class CouponLimitReached(Conflict):
    slug = "coupon-limit-reached"


class CouponNotRedeemable(Conflict):
    """Expired, already redeemed, another member's, or the order does not meet its terms."""

    slug = "coupon-not-redeemable"


class OrderNotFound(NotFound):
    slug = "order-not-found"


class OrderStateConflict(Conflict):
    slug = "order-state-conflict"


class RefundTooLarge(InvalidInput):
    slug = "refund-too-large"


class SoldOut(Conflict):
    slug = "sold-out"


class PurchaseLimitReached(Conflict):
    slug = "purchase-limit-reached"


class TeamNotFound(NotFound):
    slug = "team-not-found"


class TeamClosed(Conflict):
    """The team is full, completed or expired."""

    slug = "team-closed"


class AlreadyInTeam(Conflict):
    slug = "already-in-team"


class ExperimentNotFound(NotFound):
    slug = "experiment-not-found"


class ExperimentStopped(Conflict):
    """A stopped experiment's results are frozen: it takes no more conversions."""

    slug = "experiment-stopped"


class MemberNotExposed(Conflict):
    """Only a member who was shown a variant can convert on it."""

    slug = "member-not-exposed"


class AlreadyConverted(Conflict):
    slug = "already-converted"


class OrderAlreadyPushed(Conflict):
    slug = "order-already-pushed"


class DrawLimitReached(Conflict):
    slug = "draw-limit-reached"


class AlreadyCheckedIn(Conflict):
    """One check-in per member per local day of the tenant."""

    slug = "already-checked-in"


class ChallengeCompleted(Conflict):
    """The member has checked in on all of the challenge's days."""

    slug = "challenge-completed"


class AutomationRuleNotFound(NotFound):
    slug = "automation-rule-not-found"


class InvalidCoupon(InvalidInput):
    slug = "invalid-coupon"
