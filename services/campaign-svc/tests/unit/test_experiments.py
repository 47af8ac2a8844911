"""A/B tests: one exposure and one conversion per member, orders converting by attribution, results."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.exceptions import (
    AlreadyConverted,
    ExperimentNotFound,
    ExperimentStopped,
    MemberNotExposed,
    MemberNotFound,
)
from campaign_svc.experiments import service as experiments
from campaign_svc.experiments.models import ExperimentConversion, ExperimentExposure
from campaign_svc.experiments.schemas import (
    ConversionCreate,
    ConversionRead,
    ExperimentCreate,
    ExperimentRead,
    ExposureRead,
    VariantCreate,
)
from campaign_svc.experiments.significance import assign, wilson_interval
from campaign_svc.models import Base
from qunyun_shared.events.campaign import Attribution, OrderPlacedV1
from qunyun_shared.testing import in_memory_session_fixture

from .known_members import known_member, known_members

pytestmark = pytest.mark.unit

TENANT = "tenant-a"

session = in_memory_session_fixture(Base.metadata)


async def new_experiment(
    session: AsyncSession,
    *,
    subject_kind: str = "campaign",
    subject_id: uuid.UUID | None = None,
    weights: tuple[int, ...] = (1, 1),
    tenant_id: str = TENANT,
) -> ExperimentRead:
    variants = [
        VariantCreate(key=key, weight=weight, payload={"title": f"标题 {key}"})
        for key, weight in zip(("control", "bold", "short"), weights, strict=False)
    ]
    experiment_in = ExperimentCreate(
        name="早餐推文标题", subject_kind=subject_kind, subject_id=subject_id, variants=variants
    )
    return await experiments.create_experiment(session=session, tenant_id=tenant_id, experiment_in=experiment_in)


def order_of(
    member_id: uuid.UUID,
    *,
    campaign_id: uuid.UUID | None = None,
    content_id: uuid.UUID | None = None,
    amount_fen: int = 9_900,
    placed_at: datetime | None = None,
) -> OrderPlacedV1:
    return OrderPlacedV1(
        order_id=uuid.uuid4(),
        member_id=member_id,
        amount_fen=amount_fen,
        attribution=Attribution(campaign_id=campaign_id, content_id=content_id),
        placed_at=placed_at or datetime.now(UTC),
    )


async def expose(session: AsyncSession, experiment: ExperimentRead, member_id: uuid.UUID) -> ExposureRead:
    return await experiments.expose(session=session, tenant_id=TENANT, experiment_id=experiment.id, member_id=member_id)


async def convert(session: AsyncSession, experiment: ExperimentRead, conversion_in: ConversionCreate) -> ConversionRead:
    return await experiments.convert(
        session=session, tenant_id=TENANT, experiment_id=experiment.id, conversion_in=conversion_in
    )


async def conversions_in(session: AsyncSession, experiment_id: uuid.UUID) -> list[ExperimentConversion]:
    found = await session.scalars(
        select(ExperimentConversion).where(ExperimentConversion.experiment_id == experiment_id)
    )
    return list(found)


async def test_an_experiment_keeps_its_variants_in_order_with_the_first_as_control(session: AsyncSession) -> None:
    created = await new_experiment(session, weights=(1, 2, 3))
    read = await experiments.get_experiment(session=session, tenant_id=TENANT, experiment_id=created.id)
    assert read.control == "control"
    assert [(v.key, v.weight) for v in read.variants] == [("control", 1), ("bold", 2), ("short", 3)]
    assert (read.status, read.alpha, read.variants[1].payload) == ("running", 0.05, {"title": "标题 bold"})


@pytest.mark.parametrize(
    "variants",
    [
        [{"key": "a"}],  # one variant is no test
        [{"key": "a"}, {"key": "a"}],
        [{"key": "A"}, {"key": "b"}],
        [{"key": "a", "weight": 0}, {"key": "b"}],
        [{"key": "a", "weight": True}, {"key": "b"}],
        [{"key": "a", "weight": 10_001}, {"key": "b"}],
        [{"key": "a", "colour": "red"}, {"key": "b"}],
        [{"key": str(i)} for i in range(11)],
    ],
)
def test_bad_variants_are_refused(variants: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError):
        ExperimentCreate.model_validate({"name": "x", "subject_kind": "content", "variants": variants})


@pytest.mark.parametrize("value_fen", [-1, 10**12 + 1, 9.5, "100", True])
def test_a_conversion_value_is_whole_fen(value_fen: object) -> None:
    with pytest.raises(ValidationError):
        ConversionCreate.model_validate({"member_id": str(uuid.uuid4()), "value_fen": value_fen})


async def test_a_member_is_exposed_once_and_always_sees_the_same_variant(session: AsyncSession) -> None:
    experiment = await new_experiment(session)
    member_id = await known_member(session, TENANT)
    first = await expose(session, experiment, member_id)
    again = await expose(session, experiment, member_id)
    assert first == again
    assert first.payload == {"title": f"标题 {first.variant}"}
    results = await experiments.results_of(session=session, tenant_id=TENANT, experiment_id=experiment.id)
    assert sum(v.exposures for v in results.variants) == 1


async def test_an_exposure_recorded_by_a_concurrent_request_is_returned_not_refused(session: AsyncSession) -> None:
    experiment = await new_experiment(session)
    member_id, earlier = await known_member(session, TENANT), datetime.now(UTC) - timedelta(seconds=1)
    variant = assign(experiment.id, member_id, [(v.key, v.weight) for v in experiment.variants])
    # The other request's row, committed after this one began: its insert meets the key.
    session.add(
        ExperimentExposure(
            experiment_id=experiment.id, member_id=member_id, tenant_id=TENANT, variant=variant, exposed_at=earlier
        )
    )
    await session.flush()
    exposed = await expose(session, experiment, member_id)
    assert (exposed.variant, exposed.exposed_at) == (variant, earlier)


async def test_a_stopped_experiment_still_assigns_but_records_no_one_new(session: AsyncSession) -> None:
    experiment = await new_experiment(session)
    before, after = await known_members(session, TENANT, 2)
    exposed = await expose(session, experiment, before)
    stopped = await experiments.stop(session=session, tenant_id=TENANT, experiment_id=experiment.id)
    assert (stopped.status, stopped.stopped_at is not None) == ("stopped", True)
    assert (
        await experiments.stop(session=session, tenant_id=TENANT, experiment_id=experiment.id)
    ).stopped_at == stopped.stopped_at
    assert (await expose(session, experiment, before)).exposed_at == exposed.exposed_at
    late = await expose(session, experiment, after)
    assert late.exposed_at is None
    assert late.variant == (await expose(session, experiment, after)).variant
    exposures = await session.scalar(select(func.count()).select_from(ExperimentExposure))
    assert exposures == 1
    with pytest.raises(ExperimentStopped):
        await convert(session, experiment, ConversionCreate(member_id=before))


async def test_only_an_exposed_member_converts_and_only_once(session: AsyncSession) -> None:
    experiment = await new_experiment(session)
    member_id, order_id = await known_member(session, TENANT), uuid.uuid4()
    with pytest.raises(MemberNotExposed):
        await convert(session, experiment, ConversionCreate(member_id=member_id))
    exposed = await expose(session, experiment, member_id)
    conversion_in = ConversionCreate(member_id=member_id, value_fen=12_800, order_id=order_id)
    converted = await convert(session, experiment, conversion_in)
    assert (converted.variant, converted.value_fen, converted.order_id) == (exposed.variant, 12_800, order_id)
    with pytest.raises(AlreadyConverted):
        await convert(session, experiment, ConversionCreate(member_id=member_id, value_fen=1))
    [stored] = await conversions_in(session, experiment.id)
    assert stored.value_fen == 12_800


async def test_another_tenants_experiment_is_not_found(session: AsyncSession) -> None:
    experiment = await new_experiment(session)
    member_id = await known_member(session, TENANT)
    await expose(session, experiment, member_id)
    other = "tenant-b"
    for attempt in (
        experiments.get_experiment(session=session, tenant_id=other, experiment_id=experiment.id),
        experiments.expose(session=session, tenant_id=other, experiment_id=experiment.id, member_id=member_id),
        experiments.convert(
            session=session,
            tenant_id=other,
            experiment_id=experiment.id,
            conversion_in=ConversionCreate(member_id=member_id),
        ),
        experiments.stop(session=session, tenant_id=other, experiment_id=experiment.id),
        experiments.results_of(session=session, tenant_id=other, experiment_id=experiment.id),
        experiments.get_experiment(session=session, tenant_id=TENANT, experiment_id=uuid.uuid4()),
    ):
        with pytest.raises(ExperimentNotFound):
            await attempt
    assert (
        await experiments.get_experiment(session=session, tenant_id=TENANT, experiment_id=experiment.id)
    ).status == "running"
    for stranger in (uuid.uuid4(), await known_member(session, other)):
        with pytest.raises(MemberNotFound):
            await expose(session, experiment, stranger)


async def test_orders_convert_exposed_members_in_the_experiments_they_are_attributed_to(session: AsyncSession) -> None:
    campaign_id, content_id = uuid.uuid4(), uuid.uuid4()
    on_campaign = await new_experiment(session, subject_kind="campaign", subject_id=campaign_id)
    on_content = await new_experiment(session, subject_kind="content", subject_id=content_id)
    on_any_order = await new_experiment(session, subject_kind="campaign")
    elsewhere = await new_experiment(session, tenant_id="tenant-b")
    member_id, stranger = await known_member(session, TENANT), uuid.uuid4()
    outsider = await known_member(session, "tenant-b")
    for experiment in (on_campaign, on_content, on_any_order):
        await expose(session, experiment, member_id)
    await experiments.expose(session=session, tenant_id="tenant-b", experiment_id=elsewhere.id, member_id=outsider)
    first = order_of(member_id, campaign_id=campaign_id, amount_fen=5_000)
    second = order_of(
        member_id, campaign_id=campaign_id, content_id=content_id, placed_at=first.placed_at + timedelta(1)
    )
    # Delivered out of order: the earlier order is still the one counted.
    await experiments.record_orders(
        session=session,
        orders=[(TENANT, second), (TENANT, first), (TENANT, order_of(stranger)), (TENANT, order_of(outsider))],
    )
    [campaign_conversion] = await conversions_in(session, on_campaign.id)
    assert (campaign_conversion.order_id, campaign_conversion.value_fen) == (first.order_id, 5_000)
    assert [c.order_id for c in await conversions_in(session, on_content.id)] == [second.order_id]
    assert [c.order_id for c in await conversions_in(session, on_any_order.id)] == [first.order_id]
    assert await conversions_in(session, elsewhere.id) == []


async def test_an_order_before_the_exposure_or_for_another_subject_does_not_convert(session: AsyncSession) -> None:
    campaign_id = uuid.uuid4()
    experiment = await new_experiment(session, subject_kind="campaign", subject_id=campaign_id)
    member_id = await known_member(session, TENANT)
    exposed = await expose(session, experiment, member_id)
    assert exposed.exposed_at is not None
    orders = [
        order_of(member_id, campaign_id=campaign_id, placed_at=exposed.exposed_at - timedelta(minutes=5)),
        order_of(member_id, campaign_id=uuid.uuid4()),
        # A content item that happens to share the campaign's id is not the campaign.
        order_of(member_id, content_id=campaign_id),
    ]
    await experiments.record_orders(session=session, orders=[(TENANT, order) for order in orders])
    assert await conversions_in(session, experiment.id) == []
    await experiments.stop(session=session, tenant_id=TENANT, experiment_id=experiment.id)
    await experiments.record_orders(session=session, orders=[(TENANT, order_of(member_id, campaign_id=campaign_id))])
    assert await conversions_in(session, experiment.id) == []


async def test_results_count_per_variant_and_name_a_clear_winner(session: AsyncSession) -> None:
    experiment = await new_experiment(session)
    seen = {"control": 0, "bold": 0}
    converted = {"control": 0, "bold": 0}
    for member_id in await known_members(session, TENANT, 400):
        variant = (await expose(session, experiment, member_id)).variant
        seen[variant] += 1
        # bold converts every other member, control every tenth.
        if seen[variant] % (2 if variant == "bold" else 10) == 0:
            conversion_in = ConversionCreate(member_id=member_id, value_fen=1_000)
            await convert(session, experiment, conversion_in)
            converted[variant] += 1
    results = await experiments.results_of(session=session, tenant_id=TENANT, experiment_id=experiment.id)
    control, bold = results.variants
    assert (control.key, control.exposures, control.conversions) == ("control", seen["control"], converted["control"])
    assert (bold.key, bold.exposures, bold.conversions) == ("bold", seen["bold"], converted["bold"])
    assert bold.value_fen == 1_000 * converted["bold"]
    assert bold.rate == pytest.approx(converted["bold"] / seen["bold"])
    assert (bold.ci_low, bold.ci_high) == wilson_interval(converted["bold"], seen["bold"])
    assert (control.z_vs_control, control.p_value_vs_control) == (None, None)
    assert bold.z_vs_control is not None and bold.z_vs_control > 5
    assert (results.winner, results.reason, results.threshold) == ("bold", None, 0.05)


async def test_results_before_anyone_is_exposed_have_no_rates_and_no_winner(session: AsyncSession) -> None:
    experiment = await new_experiment(session, weights=(1, 1, 1))
    results = await experiments.results_of(session=session, tenant_id=TENANT, experiment_id=experiment.id)
    assert [(v.exposures, v.rate, v.ci_low, v.p_value_vs_control) for v in results.variants] == [
        (0, None, None, None)
    ] * 3
    assert results.winner is None
    assert results.reason is not None and results.reason.startswith("insufficient data")
    assert results.threshold == 0.025


async def test_an_erased_member_leaves_no_trace_in_experiments(session: AsyncSession) -> None:
    experiment = await new_experiment(session)
    erased, kept = await known_members(session, TENANT, 2)
    for member_id in (erased, kept):
        await expose(session, experiment, member_id)
        await convert(session, experiment, ConversionCreate(member_id=member_id))
    await experiments.forget_members(session=session, erased=[(TENANT, erased), ("tenant-b", kept)])
    assert [c.member_id for c in await conversions_in(session, experiment.id)] == [kept]
    assert await session.scalar(select(func.count()).select_from(ExperimentExposure)) == 1
