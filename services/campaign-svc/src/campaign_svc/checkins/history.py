"""Check-ins from a merchant's history, imported into a check-in campaign in batches.

A check-in is named by its member and local day (the tenant's time zone): the same day again is
unchanged. Streaks are what live check-ins on those days would have made, the member's later check-ins'
included; a milestone history reaches is kept as reached, without its reward (history earns none), and
each new check-in is announced as `checkin.recorded`, marked imported.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign
from campaign_svc.checkins.models import Checkin, CheckinMilestone
from campaign_svc.checkins.schemas import CheckinHistoryRow, CheckinSettings
from campaign_svc.members import service as members
from campaign_svc.tenants import service as tenants
from campaign_svc.tenants.clock import Clock
from qunyun_shared import advisory_locks
from qunyun_shared.db import insert_rows, one_of, update_rows
from qunyun_shared.events.campaign import CheckinRecordedV1
from qunyun_shared.history import HistoryBatchRead, RowResult, check_rows, failed
from qunyun_shared.outbox import Outbox

NO_REWARD = "reached in imported history, which earns no rewards"


def member_lock(campaign_id: uuid.UUID, member_id: uuid.UUID) -> int:
    """The lock a member's check-ins in a campaign are written under: a streak is computed from them all."""
    return advisory_locks.lock_key("checkins", str(campaign_id), str(member_id))


async def import_checkins(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, campaign_id: uuid.UUID, rows: Sequence[Any]
) -> HistoryBatchRead:
    """Imports a batch of check-in history rows into the check-in campaign, each on its own."""
    campaign = await campaigns.get_campaign(
        session=session, tenant_id=tenant_id, campaign_id=campaign_id, kind="checkin"
    )
    good, results = check_rows(CheckinHistoryRow, rows)
    refused = await members.refused_for_history(
        session=session, tenant_id=tenant_id, member_ids={row.member_id for _, row in good}
    )
    by_member: dict[uuid.UUID, list[tuple[int, CheckinHistoryRow]]] = {}
    for number, row in good:
        outside = _outside(campaign, row)
        if row.member_id in refused:
            results.append(failed(number, refused[row.member_id], "member_id"))
        elif outside is not None:
            results.append(failed(number, outside, "checked_in_at"))
        else:
            by_member.setdefault(row.member_id, []).append((number, row))
    await advisory_locks.hold(session, (member_lock(campaign.id, member_id) for member_id in by_member))
    ledger = _Ledger(
        campaign=campaign,
        settings=CheckinSettings.model_validate(campaign.settings),
        clock=await tenants.clock_of(session=session, tenant_id=tenant_id),
        stored=await _stored(session, campaign.id, by_member),
        reached=await _reached(session, campaign.id, by_member),
    )
    for member_id, member_rows in by_member.items():
        results += ledger.take(member_id, member_rows)
    await ledger.write(session)
    recorded = [
        CheckinRecordedV1(campaign_id=campaign.id, member_id=c.member_id, day=c.day, streak=c.streak)
        for c in sorted(ledger.new, key=lambda c: (c.day, c.checked_in_at))
    ]
    await outbox.add(session, tenant_id=tenant_id, payloads=recorded, imported=True)
    return HistoryBatchRead.of(results)


def _outside(campaign: Campaign, row: CheckinHistoryRow) -> str | None:
    """Why the check-in falls outside the campaign's dates, if it does."""
    if row.checked_in_at >= campaign.starts_at and (campaign.ends_at is None or row.checked_in_at < campaign.ends_at):
        return None
    until = f" until {campaign.ends_at.isoformat()}" if campaign.ends_at else ""
    return f"Campaign {campaign.id} runs from {campaign.starts_at.isoformat()}{until}: the check-in is outside it."


@dataclass
class _Day:
    """A member's check-in on a day, stored or new, with its streak as stored (0 for a new one) and as it is now."""

    id: uuid.UUID
    member_id: uuid.UUID
    day: date
    checked_in_at: datetime
    stored_streak: int = 0
    streak: int = 0


async def _stored(
    session: AsyncSession, campaign_id: uuid.UUID, member_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[date, _Day]]:
    """The members' check-ins in the campaign, by member and day: one look-up for the batch."""
    stored: dict[uuid.UUID, dict[date, _Day]] = {}
    if member_ids:
        found = await session.execute(
            select(Checkin.id, Checkin.member_id, Checkin.day, Checkin.checked_in_at, Checkin.streak).where(
                Checkin.campaign_id == campaign_id, one_of(session, Checkin.member_id, member_ids)
            )
        )
        for checkin_id, member_id, day, at, streak in found:
            stored.setdefault(member_id, {})[day] = _Day(checkin_id, member_id, day, at, streak, streak)
    return stored


async def _reached(
    session: AsyncSession, campaign_id: uuid.UUID, member_ids: Collection[uuid.UUID]
) -> set[tuple[uuid.UUID, int]]:
    """The (member, milestone day) pairs the members have reached already."""
    if not member_ids:
        return set()
    found = await session.execute(
        select(CheckinMilestone.member_id, CheckinMilestone.day).where(
            CheckinMilestone.campaign_id == campaign_id, one_of(session, CheckinMilestone.member_id, member_ids)
        )
    )
    return {(member_id, day) for member_id, day in found}


class _Ledger:
    """A batch's check-ins, member by member: the new ones, the stored ones whose streak they change, and
    the milestones they reach."""

    def __init__(
        self,
        *,
        campaign: Campaign,
        settings: CheckinSettings,
        clock: Clock,
        stored: dict[uuid.UUID, dict[date, _Day]],
        reached: set[tuple[uuid.UUID, int]],
    ) -> None:
        self.campaign, self.settings, self.clock = campaign, settings, clock
        self.stored, self.reached = stored, reached
        self.new: list[_Day] = []
        self.restreaked: list[_Day] = []
        self.milestones: list[dict[str, Any]] = []

    def take(self, member_id: uuid.UUID, rows: list[tuple[int, CheckinHistoryRow]]) -> list[RowResult]:
        """One member's rows, earliest first: a day on record is unchanged, a day past the challenge's
        count fails, the rest are new; then the member's streaks and milestones follow from all their days."""
        days = self.stored.get(member_id, {})
        results, added = [], False
        for number, row in sorted(rows, key=lambda numbered: numbered[1].checked_in_at):
            day = self.clock.local_day(row.checked_in_at)
            if day in days:
                results.append(RowResult(row=number, id=days[day].id, outcome="unchanged"))
            elif len(days) >= self.settings.days:
                message = f"The member has checked in on all {self.settings.days} days of the challenge."
                results.append(failed(number, message, "checked_in_at"))
            else:
                days[day] = _Day(uuid.uuid4(), member_id, day, row.checked_in_at)
                self.new.append(days[day])
                results.append(RowResult(row=number, id=days[day].id, outcome="created"))
                added = True
        if added:
            self._restreak(member_id, days)
        return results

    def _restreak(self, member_id: uuid.UUID, days: dict[date, _Day]) -> None:
        """Each day's streak as live check-ins would have made it: one more than the day before's, or 1."""
        first_reached: dict[int, date] = {}
        for day in sorted(days):
            checkin = days[day]
            before = days.get(day - timedelta(days=1))
            checkin.streak = before.streak + 1 if before is not None else 1
            if checkin.stored_streak not in (0, checkin.streak):
                self.restreaked.append(checkin)
            first_reached.setdefault(checkin.streak, day)
        for milestone in self.settings.milestones:
            if milestone.day in first_reached and (member_id, milestone.day) not in self.reached:
                self.milestones.append(
                    {
                        "campaign_id": self.campaign.id,
                        "member_id": member_id,
                        "day": milestone.day,
                        "tenant_id": self.campaign.tenant_id,
                        "reached_on": first_reached[milestone.day],
                        "grant_error": NO_REWARD,
                    }
                )

    async def write(self, session: AsyncSession) -> None:
        """The new check-ins and milestones in one insert each, the changed streaks in one update."""
        checkins = cast(Table, Checkin.__table__)
        new = [
            {
                "id": c.id,
                "tenant_id": self.campaign.tenant_id,
                "campaign_id": self.campaign.id,
                "member_id": c.member_id,
                "day": c.day,
                "streak": c.streak,
                "checked_in_at": c.checked_in_at,
            }
            for c in self.new
        ]
        for table, rows in ((checkins, new), (cast(Table, CheckinMilestone.__table__), self.milestones)):
            if rows:
                statement, parameters = insert_rows(session, table, rows)
                await session.execute(statement, parameters)
        changed = [{"id": c.id, "streak": c.streak} for c in self.restreaked]
        await update_rows(session, checkins, changed, key="id")
