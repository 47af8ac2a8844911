"""A tenant's points policy: earn rules, expiry, the time zone days are counted in, and the level ladder
lifetime points climb (defaults until the tenant sets its own)."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.members.models import Member
from member_svc.points.models import PointsAccount, PointsPolicy
from member_svc.points.schemas import Level, Levels, PointsPolicyBody
from qunyun_shared.db import upsert
from qunyun_shared.events.member import MemberLevelChangedV1
from qunyun_shared.outbox import Outbox

DEFAULT_POLICY = PointsPolicyBody.model_validate(
    {
        "earn_rules": {
            "join": {"points": 10},
            "checkin": {"points": 5, "daily_limit": 1},
            "post": {"points": 10, "daily_limit": 5},
            "comment": {"points": 2, "daily_limit": 20},
            "per_yuan": {"points": 1},
            "referral": {"points": 50},
        },
        "expiry_days": 365,
        "timezone": "Asia/Shanghai",
    }
)


DEFAULT_LEVELS = Levels.model_validate(
    {
        "levels": [
            {"level": 0, "name": "普通会员", "threshold": 0},
            {"level": 1, "name": "银卡", "threshold": 500, "privileges": ["birthday_gift"]},
            {"level": 2, "name": "金卡", "threshold": 2000, "privileges": ["birthday_gift", "early_access"]},
            {
                "level": 3,
                "name": "钻石",
                "threshold": 10000,
                "privileges": ["birthday_gift", "early_access", "exclusive_service"],
            },
        ]
    }
)


@dataclass(frozen=True)
class Policy:
    rules: PointsPolicyBody
    levels: Levels

    def points_for(self, action: str) -> int:
        rule = self.rules.earn_rules.get(action)  # type: ignore[call-overload]
        return rule.points if rule is not None else 0

    def daily_limit(self, action: str) -> int | None:
        rule = self.rules.earn_rules.get(action)  # type: ignore[call-overload]
        return rule.daily_limit if rule is not None else None

    def level_for(self, lifetime: int) -> Level:
        return [level for level in self.levels.levels if level.threshold <= lifetime][-1]

    def next_level(self, lifetime: int) -> Level | None:
        return next((level for level in self.levels.levels if level.threshold > lifetime), None)

    def start_of(self, day: date) -> datetime:
        """When `day` begins in the tenant's zone."""
        return datetime.combine(day, time(), tzinfo=ZoneInfo(self.rules.timezone))

    def day_start(self, at: datetime) -> datetime:
        """The start of `at`'s day in the tenant's zone."""
        local = at.astimezone(ZoneInfo(self.rules.timezone))
        return datetime.combine(local.date(), time(), tzinfo=local.tzinfo)


async def policy_of(*, session: AsyncSession, tenant_id: str) -> Policy:
    """The tenant's earn rules and levels, or the defaults for what they have not set."""
    row = await session.get(PointsPolicy, tenant_id)
    if row is None:
        return Policy(DEFAULT_POLICY, DEFAULT_LEVELS)
    rules = PointsPolicyBody.model_validate(
        {
            "earn_rules": row.earn_rules,
            "expiry_days": row.expiry_days,
            "timezone": row.timezone,
            "history_earns_points": row.history_earns_points,
        }
    )
    return Policy(rules, Levels.model_validate({"levels": row.levels}))


class Policies:
    """The tenants' policies as a batch of consumed events reads them: each tenant's at most once, and only
    when an event needs it (a live event earns without asking)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._read: dict[str, Policy] = {}

    async def of(self, tenant_id: str) -> Policy:
        """The tenant's policy, read at its first use in the batch."""
        if tenant_id not in self._read:
            self._read[tenant_id] = await policy_of(session=self._session, tenant_id=tenant_id)
        return self._read[tenant_id]

    async def earns(self, tenant_id: str, *, imported: bool) -> bool:
        """Whether an event may earn points: a live one does; imported history if the tenant says so."""
        return not imported or (await self.of(tenant_id)).rules.history_earns_points


async def set_rules(*, session: AsyncSession, tenant_id: str, rules: PointsPolicyBody) -> Policy:
    """Replaces the tenant's earn rules, expiry, time zone and whether history earns; they apply to earns from
    now on."""
    current = await policy_of(session=session, tenant_id=tenant_id)
    await _save_policy(session, tenant_id, rules, current.levels)
    return Policy(rules, current.levels)


async def set_levels(*, session: AsyncSession, outbox: Outbox, tenant_id: str, levels: Levels) -> Policy:
    """Replaces the tenant's levels and moves every member whose level the new ladder changes."""
    current = await policy_of(session=session, tenant_id=tenant_id)
    await _save_policy(session, tenant_id, current.rules, levels)
    policy = Policy(current.rules, levels)
    accounts = await session.execute(
        select(PointsAccount.member_id, PointsAccount.lifetime, Member.level)
        .join(Member, Member.id == PointsAccount.member_id)
        .where(PointsAccount.tenant_id == tenant_id)
    )
    for member_id, lifetime, level in accounts.all():
        await move_level(
            session=session,
            outbox=outbox,
            tenant_id=tenant_id,
            member_id=member_id,
            current=level,
            new=policy.level_for(lifetime).level,
        )
    return policy


async def _save_policy(session: AsyncSession, tenant_id: str, rules: PointsPolicyBody, levels: Levels) -> None:
    values = {
        "earn_rules": {action: rule.model_dump() for action, rule in rules.earn_rules.items()},
        "expiry_days": rules.expiry_days,
        "timezone": rules.timezone,
        "history_earns_points": rules.history_earns_points,
        "levels": [level.model_dump() for level in levels.levels],
        "updated_at": func.now(),
    }
    statement = upsert(session, PointsPolicy).values(tenant_id=tenant_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["tenant_id"], set_=values))


async def move_level(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, current: int, new: int
) -> None:
    """Moves the member from level `current` to `new` with `member.level_changed`; nothing if they are one."""
    if new == current:
        return
    member = await session.get(Member, member_id)
    assert member is not None
    member.level = new
    changed = MemberLevelChangedV1(member_id=member_id, from_level=current, to_level=new)
    await outbox.add(session, tenant_id=tenant_id, payloads=[changed])
