"""Rate limits without Redis: reading the script's reply, the RateLimit fields, tenants' plans."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway_svc.exceptions import TenantNotFound
from gateway_svc.models import Base
from gateway_svc.ratelimit import plans
from gateway_svc.ratelimit import service as rate_limits
from gateway_svc.ratelimit.headers import STATE_KEY, RateLimitHeaders, limit_field, policy_field
from gateway_svc.ratelimit.limiter import Decision, Plan, Quota, budget_keys, decision_of
from gateway_svc.ratelimit.schemas import RateLimitPlanUpdate
from gateway_svc.tenants.models import Tenant
from qunyun_shared.testing import in_memory_database

pytestmark = pytest.mark.unit

PLAN = Plan(credential=Quota(100, 10), tenant=Quota(300, 10))
DEFAULT = Plan(credential=Quota(1000, 10), tenant=Quota(3000, 10))


def test_an_admitted_reply_reports_what_is_left_of_each_budget() -> None:
    decision = decision_of([1, 0, 99, 101, 0, 250, 1_700, 0], PLAN.policies)
    assert decision.admitted and decision.retry_after_seconds == 0 and decision.violated == []
    assert [(b.policy, b.remaining, b.reset_seconds) for b in decision.budgets] == [
        ("credential", 99, 1),
        ("tenant", 250, 2),
    ]


def test_a_refusal_names_the_spent_budget_and_whole_seconds_to_wait() -> None:
    decision = decision_of([0, 1_200, 0, 9_950, 1, 12, 4_000, 0], PLAN.policies)
    assert not decision.admitted and decision.violated == ["credential"]
    assert decision.retry_after_seconds == 2
    # The spent budget's effective window ends at Retry-After, never before it.
    assert [(b.remaining, b.reset_seconds) for b in decision.budgets] == [(0, 2), (12, 4)]


def test_a_refusal_waits_at_least_a_second() -> None:
    assert decision_of([0, 3, 5, 100, 0, 0, 50, 1], PLAN.policies).retry_after_seconds == 1


def test_both_budgets_of_a_tenant_share_one_cluster_hash_tag() -> None:
    credential, tenant = budget_keys("qt1", "t-1", "api_key:abc", PLAN)
    assert credential != tenant
    assert {key.split("{", 1)[1].split("}", 1)[0] for key in (credential, tenant)} == {"t-1"}
    assert all(key.startswith("qt1:") for key in (credential, tenant))


def test_another_plan_starts_with_whole_budgets_of_its_own() -> None:
    before = budget_keys("qt1", "t-1", "api_key:abc", PLAN)
    after = budget_keys("qt1", "t-1", "api_key:abc", Plan(credential=Quota(5, 60), tenant=PLAN.tenant))
    assert before[0] != after[0] and before[1] == after[1]


def test_fields_follow_the_ratelimit_headers_draft() -> None:
    decision = decision_of([1, 0, 7, 1_000, 0, 250, 2_001, 0], PLAN.policies)
    assert policy_field(decision) == '"credential";q=100;w=10, "tenant";q=300;w=10'
    assert limit_field(decision) == '"credential";r=7;t=1, "tenant";r=250;t=3'


def app_leaving(decision: Decision | None) -> Starlette:
    async def endpoint(request: Request) -> PlainTextResponse:
        if decision is not None:
            setattr(request.state, STATE_KEY, decision)
        return PlainTextResponse("ok", status_code=200 if decision is None or decision.admitted else 429)

    return Starlette(routes=[Route("/", endpoint)])


async def get_through_middleware(decision: Decision | None) -> httpx.Response:
    transport = httpx.ASGITransport(app=RateLimitHeaders(app_leaving(decision)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/")


async def test_the_middleware_adds_the_fields_of_the_requests_decision() -> None:
    admitted = await get_through_middleware(decision_of([1, 0, 7, 1_000, 0, 250, 2_001, 0], PLAN.policies))
    assert admitted.headers["ratelimit-policy"] == '"credential";q=100;w=10, "tenant";q=300;w=10'
    assert admitted.headers["ratelimit"] == '"credential";r=7;t=1, "tenant";r=250;t=3'
    assert "retry-after" not in admitted.headers

    refused = await get_through_middleware(decision_of([0, 2_500, 0, 9_000, 1, 0, 9_000, 1], PLAN.policies))
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "3"
    assert refused.headers["ratelimit"] == '"credential";r=0;t=3, "tenant";r=0;t=3'


async def test_the_middleware_leaves_unlimited_responses_alone() -> None:
    response = await get_through_middleware(None)
    assert response.text == "ok"
    assert not {"ratelimit", "ratelimit-policy", "retry-after"} & set(response.headers)


def test_a_plan_may_not_give_a_credential_more_than_its_tenant() -> None:
    with pytest.raises(ValidationError, match="per_credential cannot exceed per_tenant"):
        RateLimitPlanUpdate(per_credential=10, per_tenant=5, window_seconds=60)
    with pytest.raises(ValidationError):
        RateLimitPlanUpdate(per_credential=0, per_tenant=5, window_seconds=60)
    with pytest.raises(ValidationError):
        RateLimitPlanUpdate.model_validate({"per_credential": 1, "per_tenant": 5, "window_seconds": 60, "burst": 9})


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with in_memory_database(Base.metadata) as engine:
        yield engine


async def new_tenant(engine: AsyncEngine) -> uuid.UUID:
    async with AsyncSession(engine) as session, session.begin():
        tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
        session.add(tenant)
        await session.flush()
        return tenant.id


async def test_a_tenant_is_on_the_default_plan_until_given_its_own_and_back_after_a_reset(
    engine: AsyncEngine,
) -> None:
    tenant_id = await new_tenant(engine)
    async with AsyncSession(engine) as session, session.begin():
        before = await rate_limits.get_plan(session=session, tenant_id=tenant_id, default=DEFAULT)
        own = RateLimitPlanUpdate(per_credential=5, per_tenant=8, window_seconds=60)
        await rate_limits.set_plan(session=session, tenant_id=tenant_id, plan_in=own)
    async with AsyncSession(engine) as session, session.begin():
        during = await rate_limits.get_plan(session=session, tenant_id=tenant_id, default=DEFAULT)
        await rate_limits.reset_plan(session=session, tenant_id=tenant_id, default=DEFAULT)
    async with AsyncSession(engine) as session:
        after = await rate_limits.get_plan(session=session, tenant_id=tenant_id, default=DEFAULT)

    assert (before.custom, before.per_credential, before.per_tenant, before.window_seconds) == (False, 1000, 3000, 10)
    assert (during.custom, during.per_credential, during.per_tenant, during.window_seconds) == (True, 5, 8, 60)
    assert after == before


async def test_plans_of_unknown_tenants_are_not_found(engine: AsyncEngine) -> None:
    own = RateLimitPlanUpdate(per_credential=5, per_tenant=8, window_seconds=60)
    async with AsyncSession(engine) as session:
        with pytest.raises(TenantNotFound):
            await rate_limits.set_plan(session=session, tenant_id=uuid.uuid4(), plan_in=own)
        with pytest.raises(TenantNotFound):
            await rate_limits.get_plan(session=session, tenant_id=uuid.uuid4(), default=DEFAULT)


async def test_a_replica_keeps_a_plan_until_it_is_told_it_changed(engine: AsyncEngine) -> None:
    tenant_id = await new_tenant(engine)
    cached = plans.TenantPlans(async_sessionmaker(engine), DEFAULT, ttl_seconds=60)
    assert await cached.plan_for(str(tenant_id)) == DEFAULT
    async with AsyncSession(engine) as session, session.begin():
        own = RateLimitPlanUpdate(per_credential=5, per_tenant=8, window_seconds=60)
        await rate_limits.set_plan(session=session, tenant_id=tenant_id, plan_in=own)

    assert await cached.plan_for(str(tenant_id)) == DEFAULT
    cached.forget(str(tenant_id))
    assert await cached.plan_for(str(tenant_id)) == Plan(credential=Quota(5, 60), tenant=Quota(8, 60))
