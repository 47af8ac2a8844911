"""Routes for A/B tests on content and campaigns."""

import uuid

from fastapi import APIRouter, status

from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.experiments import service as experiments
from campaign_svc.experiments.schemas import (
    ConversionCreate,
    ConversionRead,
    ExperimentCreate,
    ExperimentRead,
    ExperimentResults,
    ExposureCreate,
    ExposureRead,
)
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/campaigns/experiments", tags=["experiments"], route_class=IdempotentRoute)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Start an A/B test; the first variant is the control")
async def create_experiment(body: ExperimentCreate, session: DbSession, caller: CurrentIdentity) -> ExperimentRead:
    return await experiments.create_experiment(session=session, tenant_id=caller.tenant_id, experiment_in=body)


@router.get("/{experiment_id}")
async def get_experiment(experiment_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ExperimentRead:
    return await experiments.get_experiment(session=session, tenant_id=caller.tenant_id, experiment_id=experiment_id)


@router.post(
    "/{experiment_id}/exposures",
    status_code=status.HTTP_201_CREATED,
    summary="The variant to show a member; the first exposure is recorded",
)
async def expose(
    experiment_id: uuid.UUID, body: ExposureCreate, session: DbSession, caller: CurrentIdentity
) -> ExposureRead:
    return await experiments.expose(
        session=session, tenant_id=caller.tenant_id, experiment_id=experiment_id, member_id=body.member_id
    )


@router.post(
    "/{experiment_id}/conversions",
    status_code=status.HTTP_201_CREATED,
    summary="An exposed member converted (once)",
)
async def convert(
    experiment_id: uuid.UUID, body: ConversionCreate, session: DbSession, caller: CurrentIdentity
) -> ConversionRead:
    return await experiments.convert(
        session=session, tenant_id=caller.tenant_id, experiment_id=experiment_id, conversion_in=body
    )


@router.post("/{experiment_id}/stop", summary="Stop the test and freeze its results")
async def stop(experiment_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ExperimentRead:
    return await experiments.stop(session=session, tenant_id=caller.tenant_id, experiment_id=experiment_id)


@router.get("/{experiment_id}/results", summary="Rates, intervals, tests against the control and the winner")
async def results(experiment_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ExperimentResults:
    return await experiments.results_of(session=session, tenant_id=caller.tenant_id, experiment_id=experiment_id)
