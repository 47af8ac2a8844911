"""Every state-changing route of every service (and of the gateway) takes an `Idempotency-Key`, so a new
route cannot forget it: read from each app's own OpenAPI document, which is what front-ends build on."""

import importlib

import pytest

from tests.support.harness import SERVICES

pytestmark = pytest.mark.unit

WRITES = frozenset({"post", "put", "patch", "delete"})
# Routes that change nothing, or whose answers must never be kept, with the reason.
EXEMPT = {
    ("member_svc", "post", "/members/lookup"): "a look-up sent as a POST (the phone stays out of URLs)",
    ("member_svc", "post", "/members/resolve"): "a look-up sent as a POST (5,000 merchant ids fit no URL)",
    ("content_svc", "post", "/content/moderation/check"): "a check that stores nothing",
    ("gateway_svc", "post", "/api/v1/auth/login"): "answers with credentials for whoever presents them",
    ("gateway_svc", "post", "/api/v1/auth/refresh"): "a refresh token is used once by design",
    ("gateway_svc", "post", "/api/v1/auth/logout"): "ending a session twice ends it once",
    ("gateway_svc", "post", "/api/v1/auth/password"): "answers with fresh credentials",
}


def writes_of(package: str) -> dict[tuple[str, str, str], list[str]]:
    """Each write operation of the service's app, with the headers it declares."""
    document = importlib.import_module(f"{package}.main").create_app().openapi()
    return {
        (package, method, path): [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in WRITES
    }


@pytest.mark.parametrize("package", [spec.package for spec in SERVICES.values()])
def test_every_write_takes_an_idempotency_key(package: str) -> None:
    writes = writes_of(package)
    assert writes, f"{package} documents no writes"
    forgot = [write for write, headers in writes.items() if write not in EXEMPT and "Idempotency-Key" not in headers]
    assert forgot == []
    assert [write for write in EXEMPT if write[0] == package and write not in writes] == []


def test_the_gateways_merged_document_lists_the_key_on_every_write() -> None:
    from gateway_svc.openapi.merge import merge
    from gateway_svc.proxy.resources import Service

    def document(package: str) -> dict[str, object]:
        return importlib.import_module(f"{package}.main").create_app().openapi()  # type: ignore[no-any-return]

    services = {service: document(f"{service}_svc") for service in Service}
    merged = merge(document("gateway_svc"), services, security={}, requirement=[])
    exempt = {(method, path if package == "gateway_svc" else "/api/v1" + path) for package, method, path in EXEMPT}
    forgot = [
        (method, path)
        for path, item in merged["paths"].items()
        for method, operation in item.items()
        if method in WRITES
        and (method, path) not in exempt
        and "Idempotency-Key" not in [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
    ]
    proxied = [path for path in merged["paths"] if path.startswith("/api/v1/communities")]
    assert proxied and forgot == []
