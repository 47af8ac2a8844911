"""What a consumer batch adds, gathered in memory before it is written (analytics_svc.ingestion.service)."""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from analytics_svc.ingestion.memberships import Change
from analytics_svc.ingestion.records import MemberRecord, MembershipRecord, OrderRecord
from analytics_svc.ingestion.writes import CountKey, Post
from analytics_svc.kpis.models import ALL


@dataclass
class Batch:
    """What a batch adds, gathered in memory before it is written."""

    members: dict[uuid.UUID, MemberRecord]
    orders: dict[uuid.UUID, OrderRecord]
    communities: dict[tuple[uuid.UUID, uuid.UUID], MembershipRecord]
    erased: set[uuid.UUID]
    # The memberships whose first join the batch made or moved earlier: the ones it writes.
    first_joins: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    # The stored joins and leaves of the members the batch has joins or leaves of, and the batch's own.
    histories: dict[uuid.UUID, set[Change]] = field(default_factory=dict)
    changes: defaultdict[uuid.UUID, set[Change]] = field(default_factory=lambda: defaultdict(set))
    # The members whose orders the batch paid or refunded: their purchases are summed up anew.
    buyers: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    counts: Counter[CountKey] = field(default_factory=Counter)
    sets: defaultdict[CountKey, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    # Members to take out of a day's set: a first join that moved to an earlier day.
    unsets: defaultdict[CountKey, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    posts: dict[tuple[str, uuid.UUID], Post] = field(default_factory=dict)
    engaged_content: Counter[tuple[str, uuid.UUID, str]] = field(default_factory=Counter)
    invitations: list[dict[str, object]] = field(default_factory=list)
    rescore: set[uuid.UUID] = field(default_factory=set)
    joins: list[tuple[str, uuid.UUID]] = field(default_factory=list)
    leaves: list[tuple[str, uuid.UUID]] = field(default_factory=list)

    def count(self, tenant_id: str, community_id: uuid.UUID | None, metric: str, day: date, by: int = 1) -> None:
        """Adds to the tenant's count and, when the event names one, its community's."""
        self.counts[(tenant_id, ALL, metric, day)] += by
        if community_id is not None:
            self.counts[(tenant_id, community_id, metric, day)] += by

    def did(
        self, tenant_id: str, community_id: uuid.UUID | None, kinds: Iterable[str], member_id: uuid.UUID, day: date
    ) -> None:
        for kind in kinds:
            self.sets[(tenant_id, ALL, kind, day)].add(member_id)
            if community_id is not None:
                self.sets[(tenant_id, community_id, kind, day)].add(member_id)

    def unset(self, key: CountKey, member_id: uuid.UUID) -> None:
        """Takes the member out of that day's set."""
        if key in self.sets:
            self.sets[key].discard(member_id)
        self.unsets[key].add(member_id)

    def member(self, tenant_id: str, member_id: uuid.UUID) -> MemberRecord | None:
        """The member's facts (created at loading if the batch is the first to hear of them); None once
        erased, or if the member is another tenant's."""
        facts = self.members.get(member_id)
        return facts if facts is not None and facts.tenant_id == tenant_id else None

    def membership(self, tenant_id: str, member_id: uuid.UUID, community_id: uuid.UUID) -> MembershipRecord:
        """The member's record of one community, new if they join it for the first time."""
        found = self.communities.get((member_id, community_id))
        if found is None:
            found = MembershipRecord(member_id=member_id, community_id=community_id, tenant_id=tenant_id)
            self.communities[(member_id, community_id)] = found
        return found

    def inviter(self, inviter_id: uuid.UUID | None) -> uuid.UUID | None:
        """The inviter to link to: none once erased."""
        return None if inviter_id in self.erased else inviter_id
