"""Lotteries: provably fair draws, stock, limits and budget, the audit and its verification, erasure."""

import hashlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign, MemberQuota
from campaign_svc.campaigns.schemas import CampaignCreate
from campaign_svc.coupons import service as coupons
from campaign_svc.coupons.schemas import CouponTemplateCreate
from campaign_svc.db import MESSAGING
from campaign_svc.exceptions import CampaignNotFound, CampaignNotRunning, DrawLimitReached, MemberNotFound
from campaign_svc.lotteries import fairness
from campaign_svc.lotteries import service as lotteries
from campaign_svc.lotteries.api import router
from campaign_svc.lotteries.models import LotteryDraw, LotteryPrize
from campaign_svc.lotteries.schemas import PPM, AuditPrize, DrawRead, LotteryAudit, LotterySettings
from campaign_svc.models import Base
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, routes_client, staged_events

from .known_members import known_member, known_members

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="campaign-svc", topic_prefix="qunyun")
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TENANT = "t"

session = in_memory_session_fixture(Base.metadata)


def prize(key: str, ppm: int, stock: int = 1_000_000, **more: Any) -> dict[str, Any]:
    return {"key": key, "name": f"prize {key}", "probability_ppm": ppm, "stock": stock, **more}


async def new_lottery(
    session: AsyncSession, prizes: list[dict[str, Any]], per_member_draws: int = 1, budget_fen: int | None = None
) -> Campaign:
    campaign_in = CampaignCreate(
        kind="lottery",
        name="周年抽奖",
        budget_fen=budget_fen,
        settings={"per_member_draws": per_member_draws, "prizes": prizes},
    )
    return await campaigns.create_campaign(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_in=campaign_in, now=NOW
    )


async def draw(session: AsyncSession, campaign: Campaign, member_id: uuid.UUID | None = None) -> DrawRead:
    member_id = member_id or await known_member(session, TENANT)
    return await lotteries.draw(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_id=campaign.id, member_id=member_id, now=NOW
    )


async def ended_audit(session: AsyncSession, campaign: Campaign) -> LotteryAudit:
    await campaigns.stop(session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_id=campaign.id)
    return await lotteries.audit_of(
        session=session, tenant_id=TENANT, campaign_id=campaign.id, now=NOW + timedelta(days=1)
    )


def rechained(audit: LotteryAudit) -> LotteryAudit:
    """The audit with every hash recomputed, as a forger who rewrites the whole log would publish it."""
    prev_hash, entries = audit.commitment, []
    for entry in audit.entries:
        entry = entry.model_copy(update={"prev_hash": prev_hash})
        entry = entry.model_copy(update={"entry_hash": fairness.entry_hash_of(entry)})
        entries.append(entry)
        prev_hash = entry.entry_hash
    return audit.model_copy(update={"entries": entries, "draws": len(entries), "head_hash": prev_hash})


async def test_the_seed_is_committed_before_the_draws_and_revealed_after_the_end(session: AsyncSession) -> None:
    campaign = await new_lottery(session, [prize("a", 200_000)])
    before = await lotteries.audit_of(session=session, tenant_id=TENANT, campaign_id=campaign.id, now=NOW)
    for _ in range(5):
        await draw(session, campaign)
    running = await lotteries.audit_of(session=session, tenant_id=TENANT, campaign_id=campaign.id, now=NOW)
    ended = await ended_audit(session, campaign)
    assert before.seed is None and running.seed is None and before.entries == []
    assert before.commitment == running.commitment == ended.commitment
    assert ended.seed is not None and hashlib.sha256(bytes.fromhex(ended.seed)).hexdigest() == before.commitment
    assert [e.sequence for e in ended.entries] == [1, 2, 3, 4, 5]
    assert fairness.verify(running) == [] and fairness.verify(ended) == []


async def test_verify_detects_tampering(session: AsyncSession) -> None:
    campaign = await new_lottery(session, [prize("a", 300_000), prize("b", 300_000)])
    for _ in range(12):
        await draw(session, campaign)
    audit = await ended_audit(session, campaign)
    assert fairness.verify(audit) == []
    entries = audit.entries
    lost = next(i for i, e in enumerate(entries) if e.prize is None)

    changed_roll = [*entries]
    changed_roll[3] = entries[3].model_copy(update={"roll": (entries[3].roll + 1) % PPM})
    problems = fairness.verify(audit.model_copy(update={"entries": changed_roll}))
    assert any("entry_hash does not match" in p for p in problems)
    problems = fairness.verify(rechained(audit.model_copy(update={"entries": changed_roll})))
    assert any("draw 4: roll" in p and "does not follow from the seed" in p for p in problems)

    removed = rechained(audit.model_copy(update={"entries": entries[:5] + entries[6:]}))
    assert any("removed or reordered" in p for p in fairness.verify(removed))
    cut_short = audit.model_copy(update={"entries": entries[:-1]})
    assert fairness.verify(cut_short) == ["the log does not end at draw 12 with the head hash (draws missing)"]
    swapped = [*entries]
    swapped[1], swapped[2] = entries[2], entries[1]
    assert any("removed or reordered" in p for p in fairness.verify(audit.model_copy(update={"entries": swapped})))

    wrong_prize = [*entries]
    wrong_prize[lost] = entries[lost].model_copy(update={"prize": "a", "outcome": "won"})
    problems = fairness.verify(rechained(audit.model_copy(update={"entries": wrong_prize})))
    assert any(f"draw {lost + 1}: roll {entries[lost].roll} falls on no prize, not on a" in p for p in problems)

    false_seed = audit.model_copy(update={"seed": bytes(32).hex()})
    assert any("does not match the commitment" in p for p in fairness.verify(false_seed))


async def test_verify_detects_a_prize_won_past_its_stock() -> None:
    # The rolls of a forged log that says a one-unit prize was won twice; the chain itself is intact.
    seed = bytes(range(32))
    campaign_id, prizes = uuid.uuid4(), [AuditPrize(key="a", probability_ppm=PPM, stock=1)]
    entries = []
    for sequence in (1, 2):
        roll = fairness.roll_of(seed, campaign_id, sequence, "ref", "nonce")
        entries.append(
            {"sequence": sequence, "member_ref": "ref", "nonce": "nonce", "roll": roll, "prize": "a", "outcome": "won"}
        )
    audit = LotteryAudit(
        campaign_id=campaign_id,
        commitment=fairness.commitment_of(seed),
        seed=seed.hex(),
        prizes=prizes,
        draws=2,
        head_hash="",
        entries=[
            {**e, "drawn_at": "2026-05-01T12:00:00.000000+00:00", "prev_hash": "", "entry_hash": ""} for e in entries
        ],
    )
    assert fairness.verify(rechained(audit)) == ["draw 2: outcome 'won' with 0 of prize 'a' left"]


async def test_prizes_are_won_as_often_as_their_probabilities_say(session: AsyncSession) -> None:
    campaign = await new_lottery(session, [prize("a", 100_000), prize("b", 250_000)], per_member_draws=100)
    draws = 600
    members = await known_members(session, TENANT, draws // 100)
    outcomes = Counter([(await draw(session, campaign, members[i % len(members)])).prize_key for i in range(draws)])
    for key, probability in EXPECTED:
        tolerance = 5 * (probability * (1 - probability) / draws) ** 0.5
        assert abs(outcomes[key] / draws - probability) < tolerance, (key, outcomes)
    assert fairness.verify(await ended_audit(session, campaign)) == []


EXPECTED = (("a", 0.10), ("b", 0.25), (None, 0.65))


def test_rolls_are_uniform_and_fall_on_prizes_in_proportion() -> None:
    """The same as above over many more rolls than draws a unit test can afford."""
    seed, campaign_id, rolls = bytes(32), uuid.uuid4(), 200_000
    prizes = [
        AuditPrize(key="a", probability_ppm=100_000, stock=1),
        AuditPrize(key="b", probability_ppm=250_000, stock=1),
    ]
    drawn = [fairness.roll_of(seed, campaign_id, n, "ref", "nonce") for n in range(rolls)]
    deciles = Counter(roll * 10 // PPM for roll in drawn)
    chi_square = sum((deciles[bucket] - rolls / 10) ** 2 / (rolls / 10) for bucket in range(10))
    assert set(deciles) == set(range(10))
    assert chi_square < 30  # 9 degrees of freedom: p < 0.001 beyond 27.9
    landed = Counter(hit.key if (hit := fairness.prize_at(prizes, roll)) else None for roll in drawn)
    for key, probability in EXPECTED:
        tolerance = 5 * (probability * (1 - probability) / rolls) ** 0.5
        assert abs(landed[key] / rolls - probability) < tolerance, (key, landed)


def test_a_roll_falls_on_the_prize_whose_interval_holds_it() -> None:
    prizes = [AuditPrize(key="a", probability_ppm=1, stock=1), AuditPrize(key="b", probability_ppm=2, stock=1)]
    a, b = prizes
    assert [fairness.prize_at(prizes, roll) for roll in (0, 1, 2, 3, PPM - 1)] == [a, b, b, None, None]


async def test_stock_is_never_exceeded(session: AsyncSession) -> None:
    campaign = await new_lottery(session, [prize("a", PPM, stock=3)])
    outcomes = Counter([(await draw(session, campaign)).outcome for _ in range(25)])
    awarded = await session.scalar(select(LotteryPrize.awarded).where(LotteryPrize.campaign_id == campaign.id))
    assert outcomes == {"won": 3, "out_of_stock": 22}
    assert awarded == 3
    assert fairness.verify(await ended_audit(session, campaign)) == []


async def test_a_member_cannot_draw_past_their_limit(session: AsyncSession) -> None:
    campaign = await new_lottery(session, [prize("a", 500_000)], per_member_draws=2)
    member_id, other = await known_members(session, TENANT, 2)
    await draw(session, campaign, member_id)
    await draw(session, campaign, member_id)
    with pytest.raises(DrawLimitReached):
        await draw(session, campaign, member_id)
    await draw(session, campaign, other)
    assert [
        d.sequence
        for d in await lotteries.draws_of(
            session=session, tenant_id=TENANT, campaign_id=campaign.id, member_id=member_id
        )
    ] == [1, 2]


async def test_a_prize_the_budget_cannot_pay_is_no_prize(session: AsyncSession) -> None:
    campaign = await new_lottery(session, [prize("a", PPM, stock=10, value_fen=600)], budget_fen=1_000)
    first, second = await draw(session, campaign), await draw(session, campaign)
    await session.refresh(campaign)
    assert (first.outcome, first.value_fen) == ("won", 600)
    assert (second.outcome, second.prize_key, second.value_fen) == ("over_budget", "a", 0)
    assert (campaign.committed_fen, campaign.spent_fen) == (600, 600)
    awarded = await session.scalar(select(LotteryPrize.awarded).where(LotteryPrize.campaign_id == campaign.id))
    assert awarded == 1
    assert fairness.verify(await ended_audit(session, campaign)) == []


async def test_a_won_reward_is_granted_and_one_that_cannot_be_issued_is_noted(session: AsyncSession) -> None:
    host = await campaigns.create_campaign(
        session=session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        campaign_in=CampaignCreate(kind="coupon", name="奖品券"),
        now=NOW,
    )
    template = await coupons.create_template(
        session=session,
        tenant_id=TENANT,
        template_in=CouponTemplateCreate(
            campaign_id=host.id, name="减5元", discount="amount_off", amount_off_fen=500, valid_days=7, total_stock=1
        ),
        now=NOW,
    )
    reward = {"coupon_template_id": str(template.id), "points": 10}
    campaign = await new_lottery(session, [prize("a", PPM, reward=reward)])
    first, second = await draw(session, campaign), await draw(session, campaign)
    assert first.outcome == "won" and first.granted is not None and first.granted.coupon_id is not None
    assert first.grant_error is None
    assert second.outcome == "won" and second.granted is None
    assert second.grant_error is not None and "all issued" in second.grant_error
    # The failed grant's savepoint took back its part: the second winner's coupon quota is untouched.
    assert await session.get(MemberQuota, (template.id, second.member_id)) is None
    assert await session.get(MemberQuota, (template.id, first.member_id)) is not None
    staged = [t for t, _ in await staged_events(session, MESSAGING.outbox)]
    assert (staged.count("coupon.issued"), staged.count("reward.granted")) == (1, 1)
    assert fairness.verify(await ended_audit(session, campaign)) == []


async def test_only_running_lotteries_draw(session: AsyncSession) -> None:
    campaign = await new_lottery(session, [prize("a", 1)])
    other_kind = await campaigns.create_campaign(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_in=CampaignCreate(kind="coupon", name="c"), now=NOW
    )
    with pytest.raises(CampaignNotFound):
        await draw(session, other_kind)
    with pytest.raises(CampaignNotFound):
        await lotteries.draw(
            session=session,
            outbox=OUTBOX,
            tenant_id="other-tenant",
            campaign_id=campaign.id,
            member_id=uuid.uuid4(),
            now=NOW,
        )
    for stranger in (uuid.uuid4(), await known_member(session, "other-tenant")):
        with pytest.raises(MemberNotFound):
            await draw(session, campaign, stranger)
    await campaigns.stop(session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_id=campaign.id)
    with pytest.raises(CampaignNotRunning):
        await draw(session, campaign)


@pytest_asyncio.fixture
async def client(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    async with routes_client(session, [router], lambda: Identity(tenant_id=TENANT, principal="test"), OUTBOX) as http:
        yield http


async def test_the_routes_draw_once_per_idempotency_key(session: AsyncSession, client: httpx.AsyncClient) -> None:
    lottery = await new_lottery(session, [prize("a", 500_000)], per_member_draws=2)
    draws, body = f"/campaigns/{lottery.id}/lottery/draws", {"member_id": str(await known_member(session, TENANT))}
    assert (await client.post(draws, json=body)).status_code == 400
    first = await client.post(draws, json=body, headers={"Idempotency-Key": "k1"})
    again = await client.post(draws, json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    await client.post(draws, json=body, headers={"Idempotency-Key": "k2"})
    refused = await client.post(draws, json=body, headers={"Idempotency-Key": "k3"})
    assert (refused.status_code, refused.headers["content-type"]) == (409, "application/problem+json")
    assert refused.json()["type"].endswith("/draw-limit-reached")
    listed = await client.get(draws, params={"member_id": body["member_id"]})
    assert [d["sequence"] for d in listed.json()] == [1, 2]
    audit = LotteryAudit.model_validate((await client.get(f"/campaigns/{lottery.id}/lottery/audit")).json())
    assert audit.seed is None and len(audit.entries) == 2 and fairness.verify(audit) == []
    assert (await client.get(f"/campaigns/{uuid.uuid4()}/lottery/audit")).status_code == 404


async def test_erasure_forgets_the_member_and_keeps_the_audit_verifiable(session: AsyncSession) -> None:
    campaign = await new_lottery(session, [prize("a", 400_000)], per_member_draws=3)
    erased, kept = await known_members(session, TENANT, 2)
    theirs = [await draw(session, campaign, erased) for _ in range(3)]
    await draw(session, campaign, kept)
    await lotteries.forget_member(session=session, tenant_id=TENANT, member_id=erased)
    assert await lotteries.draws_of(session=session, tenant_id=TENANT, campaign_id=campaign.id, member_id=erased) == []
    rows = list(await session.scalars(select(LotteryDraw).where(LotteryDraw.id.in_([d.id for d in theirs]))))
    assert all(row.salt is None and row.member_id != erased for row in rows)
    assert len({row.member_id for row in rows}) == 3
    audit = await ended_audit(session, campaign)
    assert {e.member_ref for e in audit.entries} >= {d.member_ref for d in theirs}
    assert fairness.verify(audit) == []


def test_the_prize_pool_is_validated() -> None:
    with pytest.raises(ValidationError, match="add up to more than"):
        LotterySettings.model_validate({"prizes": [prize("a", 600_000), prize("b", 400_001)]})
    with pytest.raises(ValidationError, match="unique"):
        LotterySettings.model_validate({"prizes": [prize("a", 1), prize("a", 2)]})
    with pytest.raises(ValidationError):
        LotterySettings.model_validate({"prizes": [prize("a", 0.5)]})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        LotterySettings.model_validate({"prizes": [prize("A b", 1)]})
    with pytest.raises(ValidationError):
        CampaignCreate(kind="lottery", name="x", settings={"prizes": []})
    assert LotterySettings.model_validate({"prizes": [prize("a", PPM)]}).per_member_draws == 1
