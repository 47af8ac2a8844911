"""The merged OpenAPI document, from the documents of small real FastAPI apps built like the services, and
how the gateway keeps the services' documents."""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Header
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from gateway_svc.config import Settings
from gateway_svc.openapi.api import caller_security
from gateway_svc.openapi.documents import ApiDocuments
from gateway_svc.openapi.merge import component_names, merge
from gateway_svc.proxy.forwarding import UpstreamRouter
from gateway_svc.proxy.resources import Service
from gateway_svc.upstreams.clients import NotSent, UpstreamAnswer
from qunyun_shared import identity

pytestmark = pytest.mark.unit

# What a service's identity dependency would declare if it read the header as a parameter.
IdentityHeader = Annotated[str, Header(alias=identity.IDENTITY_HEADER)]


class Condition(BaseModel):  # the member service's: a tag rule's condition
    field: str
    equals: str


class CommunityCreate(BaseModel):
    name: str = Field(examples=["宝妈交流群"])
    capacity: int = 500


class CommunityRead(CommunityCreate):
    id: int
    admission: Condition | None = None


class MemberRead(BaseModel):
    id: int
    nickname: str


def member_app() -> FastAPI:
    app = FastAPI()

    @app.post("/communities", status_code=201)
    async def create_community(body: CommunityCreate, caller: IdentityHeader) -> CommunityRead:
        return CommunityRead(id=1, **body.model_dump())

    @app.get("/members/{member_id}")
    async def get_member(
        member_id: int, caller: IdentityHeader, idempotency_key: Annotated[str | None, Header()] = None
    ) -> MemberRead:
        return MemberRead(id=member_id, nickname="x")

    @app.get("/metrics")
    async def metrics() -> str:
        return ""

    @app.get("/internal/rebuild")
    async def rebuild() -> None: ...

    @app.get("/campaigns/shadow")  # a path the table gives to another service
    async def shadow() -> None: ...

    return app


class CampaignCondition(BaseModel):  # taken already: the merge must find another name for its Condition
    minimum: int


def campaign_app() -> FastAPI:
    class Condition(BaseModel):  # the campaign service's: an automation trigger
        kind: Literal["spent"] = "spent"
        at_least_fen: int

    class Reward(BaseModel):
        kind: Literal["reward"] = "reward"
        points: int

    class MemberRead(BaseModel):  # a member as campaigns know it
        id: int
        orders: int = Field(examples=[3])

    class AutomationRead(BaseModel):
        id: int
        rule: Annotated[Condition | Reward, Field(discriminator="kind")]
        audience: list[MemberRead]
        legacy: CampaignCondition | None = None

    app = FastAPI()

    @app.get("/campaigns/automations/{automation_id}")
    async def get_automation(automation_id: int, caller: IdentityHeader) -> AutomationRead:
        raise NotImplementedError

    @app.post("/campaigns/orders")
    async def place_order(body: MemberRead, caller: IdentityHeader) -> MemberRead:
        return body

    return app


def gateway_app() -> FastAPI:
    app = FastAPI(title="Qunyun gateway", version="0.1.0")
    admin = APIRouter(prefix="/admin")

    @admin.post("/tenants")
    async def create_tenant(body: CommunityCreate) -> MemberRead:  # the gateway's own use of two names
        raise NotImplementedError

    app.include_router(admin)
    return app


def merged() -> dict[str, Any]:
    security, requirement = caller_security()
    services = {Service.MEMBER: member_app().openapi(), Service.CAMPAIGN: campaign_app().openapi()}
    return merge(gateway_app().openapi(), services, security=security, requirement=requirement)


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        found += list(node.get("mapping", {}).values()) if "propertyName" in node else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in refs(item)]
    return []


def schema_of(document: dict[str, Any], ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][ref.removeprefix("#/components/schemas/")]
    return schema


def test_the_merged_document_is_valid_openapi_with_every_reference_resolving() -> None:
    document = merged()
    validate(document)
    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in document["components"]["schemas"], ref


def test_only_the_public_paths_the_table_routes_to_each_service_appear_under_api_v1() -> None:
    assert set(merged()["paths"]) == {
        "/admin/tenants",
        "/api/v1/communities",
        "/api/v1/members/{member_id}",
        "/api/v1/campaigns/automations/{automation_id}",
        "/api/v1/campaigns/orders",
    }


def test_colliding_components_get_a_service_prefix_and_references_follow() -> None:
    document = merged()
    schemas = document["components"]["schemas"]
    assert "Condition" not in schemas
    assert set(schemas["MemberCondition"]["properties"]) == {"field", "equals"}
    campaign_condition = next(
        name for name in schemas if name.startswith("CampaignCondition") and name != "CampaignCondition"
    )
    assert set(schemas[campaign_condition]["properties"]) == {"kind", "at_least_fen"}
    assert set(schemas["CampaignCondition"]["properties"]) == {"minimum"}

    community = schema_of(document, "#/components/schemas/CommunityRead")
    assert refs(community["properties"]["admission"]) == ["#/components/schemas/MemberCondition"]
    automation = schemas["AutomationRead"]
    rule = automation["properties"]["rule"]
    assert rule["discriminator"]["mapping"]["spent"] == f"#/components/schemas/{campaign_condition}"
    assert automation["properties"]["audience"]["items"]["$ref"] == "#/components/schemas/CampaignMemberRead"
    assert automation["properties"]["legacy"]["anyOf"][0]["$ref"] == "#/components/schemas/CampaignCondition"


def test_the_gateway_keeps_its_names_and_equal_definitions_stay_shared() -> None:
    document = merged()
    schemas = document["components"]["schemas"]
    assert set(schemas["MemberRead"]["properties"]) == {"id", "nickname"}  # the gateway's, the member's too
    assert "MemberMemberRead" not in schemas
    assert "CampaignMemberRead" in schemas
    assert "CommunityCreate" in schemas and "MemberCommunityCreate" not in schemas
    assert "HTTPValidationError" in schemas and not any(
        name.endswith("HTTPValidationError") and name != "HTTPValidationError" for name in schemas
    )
    order = document["paths"]["/api/v1/campaigns/orders"]["post"]
    assert order["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CampaignMemberRead")


def test_a_reference_to_a_renamed_component_makes_equal_looking_definitions_differ() -> None:
    documents = {
        "gateway": {"components": {"schemas": {}}},
        "member": {
            "components": {"schemas": {"Rule": {"type": "string"}, "Page": {"$ref": "#/components/schemas/Rule"}}}
        },
        "campaign": {
            "components": {"schemas": {"Rule": {"type": "integer"}, "Page": {"$ref": "#/components/schemas/Rule"}}}
        },
    }
    renames = component_names(documents)
    assert renames["member"] == {"Rule": "MemberRule", "Page": "MemberPage"}
    assert renames["campaign"] == {"Rule": "CampaignRule", "Page": "CampaignPage"}


def test_every_proxied_operation_needs_the_callers_credential_and_not_the_identity_header() -> None:
    document = merged()
    security, requirement = caller_security()
    assert security.items() <= document["components"]["securitySchemes"].items()
    for path, item in document["paths"].items():
        for operation in item.values():
            parameters = {(parameter["in"], parameter["name"]) for parameter in operation.get("parameters", [])}
            assert ("header", identity.IDENTITY_HEADER) not in parameters, path
            if path.startswith("/api/v1/"):
                assert operation["security"] == requirement
                assert {"401", "403", "503", "504"} <= set(operation["responses"])
    member = document["paths"]["/api/v1/members/{member_id}"]["get"]
    assert {parameter["name"] for parameter in member["parameters"]} == {"member_id", "idempotency-key"}


def test_examples_are_kept() -> None:
    schemas = merged()["components"]["schemas"]
    assert schemas["CommunityCreate"]["properties"]["name"]["examples"] == ["宝妈交流群"]
    assert schemas["CampaignMemberRead"]["properties"]["orders"]["examples"] == [3]


def test_operation_ids_stay_unique() -> None:
    operation_ids = [operation["operationId"] for item in merged()["paths"].values() for operation in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


class InProcessServices:
    """The upstream client of a gateway whose services are the small apps above, called in process; a
    service marked down cannot be connected to."""

    def __init__(self, apps: Mapping[str, FastAPI]) -> None:
        self.apps = apps
        self.down: set[str] = set()
        self.asked: list[str] = []

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamAnswer:
        host = url.split("/")[2]
        self.asked.append(host)
        if host in self.down:
            raise NotSent(f"{host} refused the connection")
        transport = httpx.ASGITransport(app=self.apps[host])
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            response = await client.request(method, url, headers=dict(headers), content=body)
        return UpstreamAnswer(response.status_code, dict(response.headers), response.content)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def documents(services: InProcessServices, clock: Clock) -> ApiDocuments:
    settings = Settings(
        database_url="sqlite+aiosqlite://",
        internal_token_secret="documents-test-secret-" + "x" * 32,
        platform_admin_token="admin-" + "x" * 32,
        access_token_secret="access-" + "x" * 32,
        webhook_secret_key="a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        member_svc_url="http://member",
        campaign_svc_url="http://campaign",
        content_svc_url="http://content",
        analytics_svc_url="http://analytics",
        upstream_attempts=1,
    )
    security, requirement = caller_security()
    upstreams = UpstreamRouter(settings, services)
    gateway = gateway_app()
    return ApiDocuments(upstreams, gateway.openapi, security=security, requirement=requirement, clock=clock)


async def test_a_service_unreachable_earlier_is_asked_again_and_shown_once_it_answers() -> None:
    services = InProcessServices({"member": member_app(), "campaign": campaign_app()})
    services.down = {"member", "content", "analytics"}
    source = documents(services, Clock())
    partial = await source.current()
    assert not any(path.startswith("/api/v1/communities") for path in partial["paths"])
    assert "/api/v1/campaigns/orders" in partial["paths"]
    assert "member-svc" in partial["info"]["description"]

    services.down = {"content", "analytics"}
    complete = await source.current()
    assert "/api/v1/communities" in complete["paths"] and "/api/v1/campaigns/orders" in complete["paths"]
    assert "member-svc" not in complete["info"]["description"]
    assert services.asked.count("member") == 2 and services.asked.count("campaign") == 1


async def test_documents_are_kept_and_asked_for_again_after_the_refresh_period() -> None:
    services = InProcessServices({"member": member_app(), "campaign": campaign_app()})
    services.down = {"content", "analytics"}
    clock = Clock()
    source = documents(services, clock)
    first = await source.current()
    services.down |= {"member"}
    assert await source.current() == first  # kept: not asked again within the period
    assert services.asked.count("member") == 1
    clock.now += 301
    stale = await source.current()
    assert "/api/v1/communities" in stale["paths"]  # the last good document stays while the service is away
    assert services.asked.count("member") == 2
