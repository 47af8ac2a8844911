"""What can go wrong in member-svc, in the domain's words."""

from qunyun_shared.problems import Conflict, Forbidden, InvalidInput, NotFound


class CommunityNotFound(NotFound):
    slug = "community-not-found"


class MemberNotFound(NotFound):
    slug = "member-not-found"


class CommunityNameTaken(Conflict):
    slug = "community-name-taken"


class AlreadyMember(Conflict):
    slug = "already-member"


class CommunityFull(Conflict):
    slug = "community-full"


class CommunityArchived(Conflict):
    slug = "community-archived"


class CapacityBelowMembers(Conflict):
    slug = "capacity-below-members"


class AlreadyWaitlisted(Conflict):
    slug = "already-waitlisted"


class EntryRefused(Forbidden):
    slug = "entry-refused"


class IncompleteAnswers(InvalidInput):
    slug = "incomplete-answers"


class AlreadyApplied(Conflict):
    slug = "already-applied"


class ApplicationNotFound(NotFound):
    slug = "application-not-found"


class ApplicationDecided(Conflict):
    slug = "application-decided"


class UnknownInviteCode(InvalidInput):
    slug = "unknown-invite-code"


class ReferralCycle(InvalidInput):
    slug = "referral-cycle"


class NotAMember(NotFound):
    slug = "not-a-member"


class SelfInvite(InvalidInput):
    slug = "self-invite"


class PhoneTaken(Conflict):
    slug = "phone-taken"


class MerchantMemberIdTaken(Conflict):
    """Another member of the tenant has the merchant's id; the problem names them (`member_id`)."""

    slug = "merchant-member-id-taken"


class MemberErased(Conflict):
    slug = "member-erased"


class PersonalDataNotAllowed(Forbidden):
    slug = "personal-data-not-allowed"


class MalformedPhone(InvalidInput):
    slug = "malformed-phone"


class InsufficientPoints(Conflict):
    slug = "insufficient-points"


class IdempotencyKeyReused(InvalidInput):
    slug = "idempotency-key-reused"


class TagOwnedElsewhere(Conflict):
    slug = "tag-owned-elsewhere"


class TagRuleNotFound(NotFound):
    slug = "tag-rule-not-found"


class TagNotOnMember(NotFound):
    slug = "tag-not-on-member"


class MalformedCsv(InvalidInput):
    slug = "malformed-csv"


class ImportNotFound(NotFound):
    slug = "import-not-found"


class HistoryImportRaced(Conflict):
    """A member took a phone or merchant id of a history batch while it was being written; nothing was."""

    slug = "history-import-raced"
