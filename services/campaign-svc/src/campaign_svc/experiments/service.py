"""A/B tests on content and campaigns: members assigned to variants by hash, their first exposure and
first conversion after it recorded, and results with a winner declared only when it is significant."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Uuid, and_, delete, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from campaign_svc.exceptions import AlreadyConverted, ExperimentNotFound, ExperimentStopped, MemberNotExposed
from campaign_svc.experiments.models import (
    Experiment,
    ExperimentConversion,
    ExperimentExposure,
    ExperimentVariant,
)
from campaign_svc.experiments.schemas import (
    ConversionCreate,
    ConversionRead,
    ExperimentCreate,
    ExperimentRead,
    ExperimentResults,
    ExposureRead,
    VariantRead,
    VariantResult,
)
from campaign_svc.experiments.significance import Arm, assign, two_proportion_z_test, verdict, wilson_interval
from campaign_svc.members import service as members
from qunyun_shared.db import UtcDateTime, one_of, upsert
from qunyun_shared.events.campaign import OrderPlacedV1


async def create_experiment(
    *, session: AsyncSession, tenant_id: str, experiment_in: ExperimentCreate
) -> ExperimentRead:
    """Starts an experiment with its variants, the first of them the control."""
    experiment = Experiment(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=experiment_in.name,
        subject_kind=experiment_in.subject_kind,
        subject_id=experiment_in.subject_id,
        status="running",
        alpha=experiment_in.alpha,
        created_at=datetime.now(UTC),
    )
    session.add(experiment)
    # The parent row first: nothing relates the two mappers, so the unit of work cannot order them.
    await session.flush()
    variants = [
        ExperimentVariant(experiment_id=experiment.id, key=v.key, weight=v.weight, position=position, payload=v.payload)
        for position, v in enumerate(experiment_in.variants)
    ]
    session.add_all(variants)
    await session.flush()
    return _read(experiment, variants)


async def get_experiment(*, session: AsyncSession, tenant_id: str, experiment_id: uuid.UUID) -> ExperimentRead:
    """One of the tenant's experiments with its variants."""
    return _read(*await _load(session, tenant_id, experiment_id))


async def stop(*, session: AsyncSession, tenant_id: str, experiment_id: uuid.UUID) -> ExperimentRead:
    """Stops an experiment, freezing its results; stopping it again changes nothing."""
    experiment, variants = await _load(session, tenant_id, experiment_id)
    if experiment.status == "running":
        experiment.status, experiment.stopped_at = "stopped", datetime.now(UTC)
        await session.flush()
    return _read(experiment, variants)


async def expose(
    *, session: AsyncSession, tenant_id: str, experiment_id: uuid.UUID, member_id: uuid.UUID
) -> ExposureRead:
    """The member's variant, recording their first exposure while the experiment runs."""
    experiment, variants = await _load(session, tenant_id, experiment_id)
    await members.get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    key = assign(experiment.id, member_id, [(v.key, v.weight) for v in variants])
    if experiment.status == "running":
        # Two first exposures at once both insert; the key keeps one and neither request fails.
        row = {
            "experiment_id": experiment.id,
            "member_id": member_id,
            "tenant_id": tenant_id,
            "variant": key,
            "exposed_at": datetime.now(UTC),
        }
        await session.execute(upsert(session, ExperimentExposure.__table__).values(row).on_conflict_do_nothing())
    exposure = await session.get(ExperimentExposure, (experiment.id, member_id))
    payload = next(v.payload for v in variants if v.key == key)
    return ExposureRead(
        experiment_id=experiment.id,
        member_id=member_id,
        variant=key,
        payload=payload,
        exposed_at=exposure.exposed_at if exposure else None,
    )


async def convert(
    *, session: AsyncSession, tenant_id: str, experiment_id: uuid.UUID, conversion_in: ConversionCreate
) -> ConversionRead:
    """Records an exposed member's conversion, once, while the experiment runs."""
    experiment, _ = await _load(session, tenant_id, experiment_id)
    if experiment.status != "running":
        raise ExperimentStopped(f"Experiment {experiment_id} was stopped; its results no longer change.")
    member_id = conversion_in.member_id
    exposure = await session.get(ExperimentExposure, (experiment.id, member_id))
    if exposure is None:
        raise MemberNotExposed(f"Member {member_id} was never exposed to experiment {experiment_id}.")
    table = ExperimentConversion.__table__
    row = {
        "experiment_id": experiment.id,
        "member_id": member_id,
        "tenant_id": tenant_id,
        "variant": exposure.variant,
        "converted_at": datetime.now(UTC),
        "value_fen": conversion_in.value_fen,
        "order_id": conversion_in.order_id,
    }
    inserted = await session.execute(
        upsert(session, table).values(row).on_conflict_do_nothing().returning(table.c.member_id)
    )
    if inserted.first() is None:
        raise AlreadyConverted(f"Member {member_id} has converted in experiment {experiment_id} already.")
    return ConversionRead.model_validate(row)


async def record_orders(*, session: AsyncSession, orders: Sequence[tuple[str, OrderPlacedV1]]) -> None:
    """Converts exposed members on their orders, in every running experiment of their tenant whose subject
    the order is attributed to (or that has no subject). Orders before the exposure do not count."""
    # Only the orders of members exposed in a running experiment can convert: one look-up for the batch spares
    # a statement per order for everyone else (a history import's 300,000 orders, say).
    if not orders:
        return
    exposed = set(
        await session.scalars(
            select(ExperimentExposure.member_id)
            .distinct()
            .join(Experiment, Experiment.id == ExperimentExposure.experiment_id)
            .where(
                one_of(session, ExperimentExposure.member_id, {order.member_id for _, order in orders}),
                Experiment.status == "running",
            )
        )
    )
    # Oldest first, so that of one member's orders in a batch the first after exposure is the one counted.
    for tenant_id, order in sorted(orders, key=lambda pair: pair[1].placed_at):
        if order.member_id in exposed:
            await session.execute(_conversions_of(session, tenant_id, order))


def _conversions_of(session: AsyncSession, tenant_id: str, order: OrderPlacedV1) -> Any:
    """One INSERT ... SELECT converting the order's member wherever they were exposed before it."""
    attribution = order.attribution
    subjects: list[ColumnElement[bool]] = [Experiment.subject_id.is_(None)]
    if attribution.campaign_id is not None:
        subjects.append(and_(Experiment.subject_kind == "campaign", Experiment.subject_id == attribution.campaign_id))
    if attribution.content_id is not None:
        subjects.append(and_(Experiment.subject_kind == "content", Experiment.subject_id == attribution.content_id))
    running = select(Experiment.id).where(
        Experiment.tenant_id == tenant_id, Experiment.status == "running", or_(*subjects)
    )
    exposure = ExperimentExposure.__table__.c
    matches = select(
        exposure.experiment_id,
        exposure.member_id,
        exposure.tenant_id,
        exposure.variant,
        literal(order.placed_at, UtcDateTime),
        literal(order.amount_fen, BigInteger),
        literal(order.order_id, Uuid),
    ).where(
        exposure.experiment_id.in_(running),
        exposure.member_id == order.member_id,
        exposure.exposed_at <= order.placed_at,
    )
    columns = ["experiment_id", "member_id", "tenant_id", "variant", "converted_at", "value_fen", "order_id"]
    return upsert(session, ExperimentConversion.__table__).from_select(columns, matches).on_conflict_do_nothing()


async def results_of(*, session: AsyncSession, tenant_id: str, experiment_id: uuid.UUID) -> ExperimentResults:
    """Per variant: exposures, conversions, rate and interval, test against the control; and the winner."""
    experiment, variants = await _load(session, tenant_id, experiment_id)
    exposed, converted = ExperimentExposure, ExperimentConversion
    exposures = {
        row.variant: row.members
        for row in await session.execute(
            select(exposed.variant, func.count().label("members"))
            .where(exposed.experiment_id == experiment.id)
            .group_by(exposed.variant)
        )
    }
    conversions: dict[str, int] = {}
    values: dict[str, int] = {}
    for row in await session.execute(
        select(converted.variant, func.count().label("members"), func.sum(converted.value_fen).label("value_fen"))
        .where(converted.experiment_id == experiment.id)
        .group_by(converted.variant)
    ):
        # PostgreSQL sums a bigint as numeric.
        conversions[row.variant], values[row.variant] = row.members, int(row.value_fen)
    arms = [Arm(v.key, exposures.get(v.key, 0), conversions.get(v.key, 0)) for v in variants]
    outcome = verdict(arms, experiment.alpha)
    return ExperimentResults(
        experiment_id=experiment.id,
        status=experiment.status,
        alpha=experiment.alpha,
        confidence=1 - experiment.alpha,
        threshold=outcome.threshold,
        control=arms[0].key,
        variants=[_result_of(arm, arms[0], values.get(arm.key, 0), experiment.alpha) for arm in arms],
        winner=outcome.winner,
        reason=outcome.reason,
    )


async def forget_members(*, session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]]) -> None:
    """Deletes erased members' exposures and conversions (PIPL); results then count without them."""
    for tenant_id, member_id in erased:
        for table in (ExperimentConversion, ExperimentExposure):
            await session.execute(delete(table).where(table.tenant_id == tenant_id, table.member_id == member_id))


def _result_of(arm: Arm, control: Arm, value_fen: int, alpha: float) -> VariantResult:
    measured = arm.exposures > 0
    ci_low, ci_high = wilson_interval(arm.conversions, arm.exposures, alpha) if measured else (None, None)
    test = two_proportion_z_test(control, arm) if measured and arm is not control and control.exposures else None
    return VariantResult(
        key=arm.key,
        exposures=arm.exposures,
        conversions=arm.conversions,
        value_fen=value_fen,
        rate=arm.conversions / arm.exposures if measured else None,
        ci_low=ci_low,
        ci_high=ci_high,
        z_vs_control=test.z if test else None,
        p_value_vs_control=test.p_value if test else None,
    )


async def _load(
    session: AsyncSession, tenant_id: str, experiment_id: uuid.UUID
) -> tuple[Experiment, list[ExperimentVariant]]:
    experiment = await session.get(Experiment, experiment_id)
    if experiment is None or experiment.tenant_id != tenant_id:
        raise ExperimentNotFound(f"No experiment {experiment_id}.")
    variants = await session.scalars(
        select(ExperimentVariant)
        .where(ExperimentVariant.experiment_id == experiment.id)
        .order_by(ExperimentVariant.position)
    )
    return experiment, list(variants)


def _read(experiment: Experiment, variants: Sequence[ExperimentVariant]) -> ExperimentRead:
    return ExperimentRead(
        id=experiment.id,
        name=experiment.name,
        subject_kind=experiment.subject_kind,
        subject_id=experiment.subject_id,
        status=experiment.status,
        alpha=experiment.alpha,
        control=variants[0].key,
        variants=[VariantRead.model_validate(v) for v in variants],
        created_at=experiment.created_at,
        stopped_at=experiment.stopped_at,
    )
