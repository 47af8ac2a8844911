"""docs/api.md, rendered from the platform's merged OpenAPI document (`make docs`).

The document is the one the gateway serves at /openapi.json when every service answers, built offline: each
app's own document through the gateway's merge. It imports every service's package, so it runs in the repo's
environment (where `make docs` runs), not in the gateway's image."""

import importlib
from typing import Any

from gateway_svc.access import permission_for
from gateway_svc.openapi.api import caller_security
from gateway_svc.openapi.merge import PREFIX, Document, merge
from gateway_svc.proxy.resources import Service, resource_of

GATEWAY = "gateway"
_METHODS = ("get", "post", "put", "patch", "delete")
# Answers the gateway itself may give to any proxied operation; the table shows what is particular to each.
_GATEWAY_ANSWERS = frozenset({"401", "403", "413", "429", "503", "504"})
_KEY = "Idempotency-Key"


def merged_document() -> Document:
    """The merged document with every service present, as a client of the gateway sees it."""
    security, requirement = caller_security()
    services = {service: _app_document(f"{service}_svc") for service in Service}
    return merge(_app_document("gateway_svc"), services, security=security, requirement=requirement)


def render(document: Document | None = None) -> str:
    document = merged_document() if document is None else document
    lines = [
        "# API reference",
        "",
        "Generated from the gateway's merged OpenAPI document by `make docs`; do not edit. The running gateway",
        "serves the same document at `/openapi.json` and browsable at `/docs`, with every schema and example.",
        "",
        "Everything under `/api/v1/` takes `Authorization: Bearer <API key or access token>` (or `X-Api-Key`);",
        "`/admin/` takes the platform admin token. *Permission* is what the gateway checks before forwarding",
        "([access.md](access.md)); the gateway's own routes check theirs themselves. *Key*: the write takes an",
        "`Idempotency-Key` ([idempotency.md](idempotency.md)); *required* ones answer 400 without it. *Answers*",
        "lists the statuses particular to the operation; every proxied one may also answer 401, 403, 413",
        "(with a body), 429, 503 and 504 from the gateway. Errors are `application/problem+json`",
        "([architecture.md](architecture.md#api-conventions)).",
        "",
    ]
    for owner, operations in _by_owner(document).items():
        lines += [f"## {owner}", ""]
        for tag, rows in operations.items():
            lines += [
                f"### {tag}",
                "",
                "| Operation | What it does | Permission | Key | Answers |",
                "|---|---|---|---|---|",
            ]
            lines += rows
            lines.append("")
    return "\n".join(lines)


def _app_document(package: str) -> Document:
    app = importlib.import_module(f"{package}.main").create_app()
    document: Document = app.openapi()
    return document


def _by_owner(document: Document) -> dict[str, dict[str, list[str]]]:
    """Each owner's operations (the gateway's first, then each service's), by tag, in the document's order."""
    owners: dict[str, dict[str, list[str]]] = {owner: {} for owner in [GATEWAY, *(f"{s}-svc" for s in Service)]}
    for path, item in document["paths"].items():
        owner = _owner(path)
        for method in _METHODS:
            if (operation := item.get(method)) is not None:
                tag = (operation.get("tags") or ["other"])[0]
                owners[owner].setdefault(tag, []).append(_row(method, path, operation, proxied=owner != GATEWAY))
    return {owner: operations for owner, operations in owners.items() if operations}


def _owner(path: str) -> str:
    resource = resource_of(path.removeprefix(PREFIX + "/")) if path.startswith(PREFIX + "/") else None
    return GATEWAY if resource is None else f"{resource.service}-svc"


def _row(method: str, path: str, operation: Document, *, proxied: bool) -> str:
    queries = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
    address = f"`{method.upper()} {path}{'?' + '&'.join(queries) if queries else ''}`"
    permission = permission_for(method.upper(), path.removeprefix(PREFIX + "/")) if proxied else None
    answers = [status for status in operation.get("responses", {}) if not (proxied and status in _GATEWAY_ANSWERS)]
    cells = [address, _what(operation), f"`{permission}`" if permission else "", _key(operation), " ".join(answers)]
    return "| " + " | ".join(cells) + " |"


def _what(operation: Document) -> str:
    text = str(operation.get("summary", ""))
    if description := str(operation.get("description", "")).strip():
        text += " — " + " ".join(description.split("\n\n")[0].split())
    return text.replace("|", "\\|")


def _key(operation: Document) -> str:
    if _KEY in _describes(operation.get("responses", {}).get("400", {})):
        return "required"
    takes = any(p.get("in") == "header" and p.get("name") == _KEY for p in operation.get("parameters", []))
    return "yes" if takes else ""


def _describes(response: Any) -> str:
    return str(response.get("description", "")) if isinstance(response, dict) else ""


if __name__ == "__main__":
    print(render(), end="")
