"""Lotteries (抽奖), provably fair: draws from a committed secret seed, recorded in a hash-chained audit log.

How a draw is made, and how anyone re-checks it by hand (Python's hashlib and hmac, or openssl):
1. Before its first draw a lottery fixes a secret 32-byte seed; the audit shows `commitment` = sha256(seed)
   from the start and the seed itself once the campaign has ended. Check sha256(seed) against the
   commitment you saw before the draws.
2. The roll: message = "<campaign_id>|<sequence>|<member_ref>|<nonce>" (the UUID hyphenated, hex lowercase).
   For k = 0, 1, ...: digest = HMAC-SHA256(key=seed, msg=message + "|" + str(k)); read the digest as eight
   big-endian 32-bit words; the first word below 4,294,000,000 (the largest multiple of 1,000,000 under
   2**32, so that every roll is equally likely) gives roll = word % 1,000,000.
3. The prize: walk the prizes in declared order summing probability_ppm; the roll falls on the first prize
   whose running sum exceeds it, or on none if it is at least the total.
4. The outcome: `won` while fewer than `stock` of that prize were won before, `out_of_stock` once that
   many were; `over_budget` when the campaign's budget could not pay for it (the budget is not published).
5. The chain: entry_hash = sha256(prev_hash + canonical JSON of the entry), the entry being {sequence,
   member_ref, nonce, roll, prize, outcome, drawn_at} with keys sorted and no spaces; the first entry's
   prev_hash is the commitment, each next one's the entry before's hash. Keep the head hash you saw: a later
   audit must extend it, or draws were cut from its end.
A member finds their draws in the audit by member_ref = sha256("<salt>|<member_id>"); their draws list
gives the salts.

What this proves: the seed was fixed before the draws, and every roll, prize and stock count follows from
the published inputs. Nonces and salts are the service's own random choice: the audit cannot show that
its code did not pick them for an outcome.
"""

import hashlib
import hmac
import json
import secrets
import struct
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc import audience, budget, campaigns, quotas, rewards
from campaign_svc.exceptions import BudgetExhausted, DrawLimitReached
from campaign_svc.models import Campaign
from campaign_svc.models.lotteries import Lottery, LotteryDraw, LotteryPrize
from campaign_svc.schemas.lotteries import (
    PPM,
    AuditEntry,
    AuditPrize,
    DrawOutcome,
    DrawRead,
    LotteryAudit,
    LotterySettings,
    Prize,
)
from campaign_svc.schemas.rewards import Reward
from qunyun_shared.db import upsert
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import DomainError

_ROLL_LIMIT = (2**32 // PPM) * PPM


def commitment_of(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def member_ref_of(salt: str, member_id: uuid.UUID) -> str:
    return hashlib.sha256(f"{salt}|{member_id}".encode()).hexdigest()


def roll_of(seed: bytes, campaign_id: uuid.UUID, sequence: int, member_ref: str, nonce: str) -> int:
    """A roll in [0, 1,000,000) by rejection sampling over HMAC digests (step 2 of the module's docstring)."""
    message = f"{campaign_id}|{sequence}|{member_ref}|{nonce}"
    attempt = 0
    while True:
        digest = hmac.new(seed, f"{message}|{attempt}".encode(), hashlib.sha256).digest()
        for (word,) in struct.iter_unpack(">I", digest):
            if word < _ROLL_LIMIT:
                return int(word % PPM)
        attempt += 1


class _Chance(Protocol):
    probability_ppm: int


_P = TypeVar("_P", bound=_Chance)


def prize_at(prizes: Sequence[_P], roll: int) -> _P | None:
    """The prize whose interval of rolls holds `roll`, None for no prize (step 3 of the module's docstring)."""
    upper = 0
    for prize in prizes:
        upper += prize.probability_ppm
        if roll < upper:
            return prize
    return None


def entry_hash_of(entry: AuditEntry) -> str:
    hashed = entry.model_dump(exclude={"prev_hash", "entry_hash"})
    canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((entry.prev_hash + canonical).encode()).hexdigest()


def verify(audit: LotteryAudit) -> list[str]:
    """The problems in a published audit, none if every check passes: the seed against the commitment, each
    entry's roll (once the seed is revealed), prize, outcome and stock count, and the chain to the head."""
    problems: list[str] = []
    seed = _seed_from(audit.seed)
    if audit.seed is not None and (seed is None or commitment_of(seed) != audit.commitment):
        problems.append("the revealed seed does not match the commitment, so no roll can be trusted")
        seed = None
    won: Counter[str] = Counter()
    prev_hash = audit.commitment
    for position, entry in enumerate(audit.entries, start=1):
        where = f"draw {entry.sequence}"
        if entry.sequence != position:
            problems.append(f"{where}: found where draw {position} should be (draws removed or reordered)")
        if entry.prev_hash != prev_hash:
            problems.append(f"{where}: prev_hash does not link to the entry before")
        if entry_hash_of(entry) != entry.entry_hash:
            problems.append(f"{where}: entry_hash does not match the entry")
        if (
            seed is not None
            and roll_of(seed, audit.campaign_id, entry.sequence, entry.member_ref, entry.nonce) != entry.roll
        ):
            problems.append(f"{where}: roll {entry.roll} does not follow from the seed and the draw's inputs")
        if problem := _outcome_problem(entry, audit.prizes, won):
            problems.append(f"{where}: {problem}")
        prev_hash = entry.entry_hash
    if audit.draws != len(audit.entries) or audit.head_hash != prev_hash:
        problems.append(f"the log does not end at draw {audit.draws} with the head hash (draws missing)")
    return problems


def _seed_from(revealed: str | None) -> bytes | None:
    try:
        return bytes.fromhex(revealed) if revealed is not None else None
    except ValueError:
        return None


def _outcome_problem(entry: AuditEntry, prizes: Sequence[AuditPrize], won: Counter[str]) -> str | None:
    """What is wrong with the entry's prize and outcome given the prizes won before it (counted in `won`)."""
    landed = prize_at(prizes, entry.roll)
    key = landed.key if landed else None
    if entry.prize != key:
        return f"roll {entry.roll} falls on {key or 'no prize'}, not on {entry.prize or 'no prize'}"
    if landed is None:
        return None if entry.outcome == "lost" else f"outcome {entry.outcome!r} where the roll won nothing"
    left = landed.stock - won[landed.key]
    if entry.outcome == "won":
        won[landed.key] += 1
    expected = ("won", "over_budget") if left > 0 else ("out_of_stock",)
    if entry.outcome not in expected:
        return f"outcome {entry.outcome!r} with {max(left, 0)} of prize {landed.key!r} left"
    return None


async def draw(
    session: AsyncSession, outbox: Outbox, tenant_id: str, campaign_id: uuid.UUID, member_id: uuid.UUID, now: datetime
) -> DrawRead:
    """One draw for a member within their limit; the prize the roll falls on is awarded if its stock and the
    budget allow, and the draw is chained into the audit log whatever its outcome."""
    campaign = await campaigns.running_campaign(session, tenant_id, campaign_id, now, kind="lottery")
    settings = LotterySettings.model_validate(campaign.settings)
    await audience.get_member(session, tenant_id, member_id)
    if not await quotas.claim(session, campaign.id, member_id, 1, settings.per_member_draws):
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
        await budget.commit(session, campaign_id, prize.value_fen)
    except BudgetExhausted:
        await session.execute(update(LotteryPrize).where(this_prize).values(awarded=LotteryPrize.awarded - 1))
        return "over_budget"
    if prize.value_fen:
        await budget.charge(session, outbox, campaign_id, prize.value_fen, prize.value_fen, now)
    return "won"


async def _grant(session: AsyncSession, outbox: Outbox, record: LotteryDraw, reward: Reward, now: datetime) -> None:
    """Grants the won prize's reward in a savepoint: a reward that cannot be issued (coupon stock, limit,
    budget) is noted on the draw, which stands as won."""
    try:
        async with session.begin_nested():
            granted = await rewards.grant(
                session,
                outbox,
                record.tenant_id,
                record.member_id,
                reward,
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
    session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID, member_id: uuid.UUID
) -> list[DrawRead]:
    """A member's draws in a lottery, in the order drawn."""
    campaign = await campaigns.get_campaign(session, tenant_id, campaign_id, "lottery")
    draws = await session.scalars(
        select(LotteryDraw)
        .where(LotteryDraw.campaign_id == campaign.id, LotteryDraw.member_id == member_id)
        .order_by(LotteryDraw.sequence)
    )
    return [DrawRead.model_validate(d) for d in draws]


async def audit_of(session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID, now: datetime) -> LotteryAudit:
    """The audit to publish: the commitment, the seed once the campaign has ended, the prizes, every draw."""
    campaign = await campaigns.get_campaign(session, tenant_id, campaign_id, "lottery")
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


async def forget_member(session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> None:
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
