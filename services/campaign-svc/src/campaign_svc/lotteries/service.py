"""Lotteries (抽奖): a member's draw within their limit, the prize awarded within its stock and the budget,
every draw chained into the audit log (`fairness.py` says how a draw is made and re-checked)."""

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import budget, quotas
from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign
from campaign_svc.exceptions import BudgetExhausted, DrawLimitReached
from campaign_svc.lotteries.fairness import commitment_of, entry_hash_of, member_ref_of, prize_at, roll_of
from campaign_svc.lotteries.models import Lottery, LotteryDraw, LotteryPrize
from campaign_svc.lotteries.schemas import (
    AuditEntry,
    AuditPrize,
    DrawOutcome,
    DrawRead,
    LotteryAudit,
    LotterySettings,
    Prize,
)
from campaign_svc.members import service as members
from campaign_svc.rewards import service as rewards
from campaign_svc.rewards.schemas import Reward
from qunyun_shared.db import upsert
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import DomainError


async def draw(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    campaign_id: uuid.UUID,
    member_id: uuid.UUID,
    now: datetime,
) -> DrawRead:
    """One draw for a member within their limit; the prize the roll falls on is awarded if its stock and the
    budget allow, and the draw is chained into the audit log whatever its outcome."""
    campaign = await campaigns.running_campaign(
        session=session, tenant_id=tenant_id, campaign_id=campaign_id, now=now, kind="lottery"
    )
    settings = LotterySettings.model_validate(campaign.settings)
    await members.get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    if not await quotas.claim(
        session=session, scope_id=campaign.id, member_id=member_id, amount=1, limit=settings.per_member_draws
    ):
        raise DrawLimitReached(
            f"Member {member_id} has had all {settings.per_member_draws} draws of lottery {campaign.id}.",
            per_member_draws=settings.per_member_draws,
        )
    # Locked until commit: draws of one lottery take their sequence numbers and chain links one at a time.
    lottery = await _lottery(session, campaign, settings, now, lock=True)
    record = _new_draw(lottery, member_id, now)
    prize = prize_at(settings.prizes, record.roll)
    if prize is not None:
        record.prize_key = prize.key
        record.outcome = await _award(session, outbox, campaign.id, prize, now)
        record.value_fen = prize.value_fen if record.outcome == "won" else 0
    record.entry_hash = entry_hash_of(_entry_of(record))
    lottery.draws, lottery.head_hash = record.sequence, record.entry_hash
    session.add(record)
    await session.flush()
    if prize is not None and prize.reward is not None and record.outcome == "won":
        await _grant(session, outbox, record, prize.reward, now)
    return DrawRead.model_validate(record)


def _new_draw(lottery: Lottery, member_id: uuid.UUID, now: datetime) -> LotteryDraw:
    """The lottery's next draw, rolled, as yet without a prize."""
    salt, nonce = secrets.token_hex(16), secrets.token_hex(16)
    member_ref = member_ref_of(salt, member_id)
    sequence = lottery.draws + 1
    return LotteryDraw(
        id=uuid.uuid4(),
        tenant_id=lottery.tenant_id,
        campaign_id=lottery.campaign_id,
        sequence=sequence,
        member_id=member_id,
        salt=salt,
        member_ref=member_ref,
        nonce=nonce,
        roll=roll_of(lottery.seed, lottery.campaign_id, sequence, member_ref, nonce),
        prize_key=None,
        outcome="lost",
        value_fen=0,
        prev_hash=lottery.head_hash,
        drawn_at=now,
    )


async def _lottery(
    session: AsyncSession, campaign: Campaign, settings: LotterySettings, now: datetime, *, lock: bool
) -> Lottery:
    """The lottery's state, made with a fresh secret seed on first use; of concurrent first uses one wins."""
    lottery = await session.get(Lottery, campaign.id, with_for_update=lock, populate_existing=lock)
    if lottery is not None:
        return lottery
    seed = secrets.token_bytes(32)
    commitment = commitment_of(seed)
    table = Lottery.__table__
    created = await session.execute(
        upsert(session, table)
        .values(
            campaign_id=campaign.id,
            tenant_id=campaign.tenant_id,
            seed=seed,
            commitment=commitment,
            draws=0,
            head_hash=commitment,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table.c.campaign_id)
    )
    if created.first() is not None:
        stock = [{"campaign_id": campaign.id, "key": p.key, "stock": p.stock, "awarded": 0} for p in settings.prizes]
        await session.execute(insert(LotteryPrize), stock)
    lottery = await session.get(Lottery, campaign.id, with_for_update=lock, populate_existing=True)
    assert lottery is not None
    return lottery


async def _award(
    session: AsyncSession, outbox: Outbox, campaign_id: uuid.UUID, prize: Prize, now: datetime
) -> DrawOutcome:
    """Takes one of the prize's stock and charges its value to the budget, or says which of them ran out."""
    this_prize = (LotteryPrize.campaign_id == campaign_id) & (LotteryPrize.key == prize.key)
    taken = await session.execute(
        update(LotteryPrize)
        .where(this_prize, LotteryPrize.awarded < LotteryPrize.stock)
        .values(awarded=LotteryPrize.awarded + 1)
        .returning(LotteryPrize.key)
    )
    if taken.first() is None:
        return "out_of_stock"
    try:
        await budget.commit(session=session, campaign_id=campaign_id, amount_fen=prize.value_fen)
    except BudgetExhausted:
        await session.execute(update(LotteryPrize).where(this_prize).values(awarded=LotteryPrize.awarded - 1))
        return "over_budget"
    if prize.value_fen:
        await budget.charge(
            session=session,
            outbox=outbox,
            campaign_id=campaign_id,
            committed_fen=prize.value_fen,
            cost_fen=prize.value_fen,
            now=now,
        )
    return "won"


async def _grant(session: AsyncSession, outbox: Outbox, record: LotteryDraw, reward: Reward, now: datetime) -> None:
    """Grants the won prize's reward in a savepoint: a reward that cannot be issued (coupon stock, limit,
    budget) is noted on the draw, which stands as won."""
    try:
        async with session.begin_nested():
            granted = await rewards.grant(
                session=session,
                outbox=outbox,
                tenant_id=record.tenant_id,
                member_id=record.member_id,
                reward=reward,
                campaign_id=record.campaign_id,
                source=f"lottery:{record.id}",
                reason="lottery_prize",
                now=now,
            )
    except DomainError as refused:
        record.grant_error = refused.detail[:500]
        return
    record.granted = granted.model_dump(mode="json")


def _public(prizes: Sequence[Prize]) -> list[AuditPrize]:
    return [AuditPrize(key=p.key, probability_ppm=p.probability_ppm, stock=p.stock) for p in prizes]


def _entry_of(record: LotteryDraw) -> AuditEntry:
    return AuditEntry(
        sequence=record.sequence,
        member_ref=record.member_ref,
        nonce=record.nonce,
        roll=record.roll,
        prize=record.prize_key,
        outcome=record.outcome,
        drawn_at=record.drawn_at.astimezone(UTC).isoformat(timespec="microseconds"),
        prev_hash=record.prev_hash,
        entry_hash=record.entry_hash or "",
    )


async def draws_of(
    *, session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID, member_id: uuid.UUID
) -> list[DrawRead]:
    """A member's draws in a lottery, in the order drawn."""
    campaign = await campaigns.get_campaign(
        session=session, tenant_id=tenant_id, campaign_id=campaign_id, kind="lottery"
    )
    draws = await session.scalars(
        select(LotteryDraw)
        .where(LotteryDraw.campaign_id == campaign.id, LotteryDraw.member_id == member_id)
        .order_by(LotteryDraw.sequence)
    )
    return [DrawRead.model_validate(d) for d in draws]


async def audit_of(*, session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID, now: datetime) -> LotteryAudit:
    """The audit to publish: the commitment, the seed once the campaign has ended, the prizes, every draw."""
    campaign = await campaigns.get_campaign(
        session=session, tenant_id=tenant_id, campaign_id=campaign_id, kind="lottery"
    )
    settings = LotterySettings.model_validate(campaign.settings)
    lottery = await _lottery(session, campaign, settings, now, lock=False)
    ended = campaign.status == "ended" or (campaign.ends_at is not None and campaign.ends_at <= now)
    # Draws committed after the state row was read are left for the next audit, so the log ends at the head.
    draws = await session.scalars(
        select(LotteryDraw)
        .where(LotteryDraw.campaign_id == campaign.id, LotteryDraw.sequence <= lottery.draws)
        .order_by(LotteryDraw.sequence)
    )
    return LotteryAudit(
        campaign_id=campaign.id,
        commitment=lottery.commitment,
        seed=lottery.seed.hex() if ended else None,
        prizes=_public(settings.prizes),
        draws=lottery.draws,
        head_hash=lottery.head_hash,
        entries=[_entry_of(d) for d in draws],
    )


async def forget_member(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> None:
    """Erases a member from their draws (PIPL) without breaking the audit.

    The hashed entries and the rolls name the member only by member_ref = sha256(salt|member_id), so the
    plain id and the salt can go while every entry still checks; without the salt, member_ref cannot be
    tied to the member even by someone who knows their id. Each draw gets its own random id in place of
    the member's, so the erased member's draws cannot even be told to be one person's.
    """
    draws = await session.scalars(
        select(LotteryDraw).where(LotteryDraw.tenant_id == tenant_id, LotteryDraw.member_id == member_id)
    )
    for record in draws:
        record.member_id, record.salt = uuid.uuid4(), None
        if record.grant_error:
            record.grant_error = record.grant_error.replace(str(member_id), "(erased member)")
    await session.flush()
