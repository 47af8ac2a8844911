"""One OpenAPI document for the whole platform: the gateway's own operations and the services' public ones,
as a client of the gateway sees them."""

import copy
from collections.abc import Mapping
from typing import Any

from gateway_svc.proxy import naming
from gateway_svc.proxy.resources import RESOURCES, Service
from qunyun_shared import identity
from qunyun_shared.problem_responses import PROBLEM_SCHEMA, problem_response

Document = dict[str, Any]

PREFIX = "/api/v1"
GATEWAY = "gateway"
_SCHEMAS = "#/components/schemas/"
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# Served by every service for the platform, never through the gateway.
_INTERNAL_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# The gateway sets them itself; a client's are dropped.
_GATEWAY_HEADERS = frozenset({identity.IDENTITY_HEADER})
# What the gateway itself may answer to any proxied operation, before or instead of the service.
_GATEWAY_RESPONSES = {
    "401": "The credential is missing, unknown, expired or revoked.",
    "403": "The credential lacks the permission the operation needs.",
    "429": "The credential or its tenant is over its rate limit (see `Retry-After` and `RateLimit`).",
    "503": "The service is unreachable or resting after repeated failures (see `Retry-After`).",
    "504": "The service did not answer in time.",
}
_TOO_LARGE = "The body exceeds what the gateway forwards."


def merge(
    gateway: Document, services: Mapping[Service, Document], *, security: Mapping[str, Any], requirement: list[Any]
) -> Document:
    """The gateway's document with each service's public paths under /api/v1, requiring `requirement` (one of
    the `security` schemes); components whose names collide with different definitions get a service prefix."""
    merged = copy.deepcopy(gateway)
    components = merged.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(security)
    schemas = components.setdefault("schemas", {})
    schemas.setdefault("Problem", PROBLEM_SCHEMA)
    renames = component_names({GATEWAY: merged} | {str(service): document for service, document in services.items()})
    paths = merged.setdefault("paths", {})
    operation_ids = {operation.get("operationId") for operation in _operations(paths)}
    for service, document in services.items():
        for name, definition in document.get("components", {}).get("schemas", {}).items():
            schemas[renames[service].get(name, name)] = _renamed(definition, renames[service])
        for path, item in public_paths(service, document).items():
            public = _renamed(item, renames[service])
            _strip_gateway_headers(public)
            for operation in _operations({path: public}):
                _as_proxied(operation, requirement, operation_ids, service)
                naming.document(operation, schemas, path)
            paths[PREFIX + path] = public  # the table's resources are the services', never the gateway's
    return merged


def public_paths(service: Service, document: Document) -> dict[str, Any]:
    """The paths of a service's document the routing table sends to it, at the service's own addresses."""
    return {
        path: item
        for path, item in document.get("paths", {}).items()
        if path not in _INTERNAL_PATHS and _owner(path) is service
    }


def component_names(documents: Mapping[str, Document]) -> dict[str, dict[str, str]]:
    """For each document, its schema components to rename: a name defined differently elsewhere becomes
    `<Service><Name>`. The gateway keeps its names; definitions equal once renamed stay shared."""
    renames: dict[str, dict[str, str]] = {owner: {} for owner in documents}
    taken = {name for document in documents.values() for name in _schemas(document)}
    changed = True
    while changed:  # a rename changes the definitions that refer to it, which may then collide in turn
        changed = False
        for name, definitions in _definitions_by_name(documents, renames).items():
            first, *others = definitions.values()
            if all(definition == first for definition in others):
                continue
            for owner, definition in definitions.items():
                if owner == GATEWAY or (GATEWAY in definitions and definition == definitions[GATEWAY]):
                    continue
                renames[owner][name] = _free_name(owner.capitalize() + name, taken)
                changed = True
    return renames


def _definitions_by_name(
    documents: Mapping[str, Document], renames: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, Any]]:
    """Each schema name still shared, with each owner's definition as the merged document would hold it."""
    by_name: dict[str, dict[str, Any]] = {}
    for owner, document in documents.items():
        for name, definition in _schemas(document).items():
            if name not in renames[owner]:
                by_name.setdefault(name, {})[owner] = _renamed(definition, renames[owner])
    return {name: definitions for name, definitions in by_name.items() if len(definitions) > 1}


def _free_name(wanted: str, taken: set[str]) -> str:
    name, suffix = wanted, 2
    while name in taken:
        name, suffix = f"{wanted}{suffix}", suffix + 1
    taken.add(name)
    return name


def _renamed(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy of `node` with its references to renamed schemas (`$ref`s and discriminator mappings) rewritten."""
    if isinstance(node, dict):
        copied = {key: _renamed(value, renames) for key, value in node.items()}
        if isinstance(ref := copied.get("$ref"), str):
            copied["$ref"] = _renamed_ref(ref, renames)
        if isinstance(mapping := copied.get("mapping"), dict) and "propertyName" in copied:
            copied["mapping"] = {key: _renamed_ref(ref, renames) for key, ref in mapping.items()}
        return copied
    if isinstance(node, list):
        return [_renamed(item, renames) for item in node]
    return node


def _renamed_ref(ref: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(ref, str) and ref.startswith(_SCHEMAS):
        name = ref.removeprefix(_SCHEMAS)
        return _SCHEMAS + renames.get(name, name)
    return ref


def _as_proxied(operation: Document, requirement: list[Any], operation_ids: set[Any], service: Service) -> None:
    """Makes a service's operation read as the gateway serves it: authenticated at the gateway, with the
    gateway's own answers, and an operation id unique in the merged document."""
    operation["security"] = requirement
    responses = operation.setdefault("responses", {})
    for status, description in _GATEWAY_RESPONSES.items():
        responses.setdefault(status, problem_response(description))
    if "requestBody" in operation:
        responses.setdefault("413", problem_response(_TOO_LARGE))
    operation["responses"] = dict(sorted(responses.items()))
    if operation.get("operationId") in operation_ids:
        operation["operationId"] = f"{service}_{operation['operationId']}"
    operation_ids.add(operation.get("operationId"))


def _strip_gateway_headers(item: Document) -> None:
    """Drops the parameters for headers only the gateway sends (the signed identity), at path and operation level."""
    for holder in (item, *_operations({"": item})):
        if "parameters" in holder:
            holder["parameters"] = [
                parameter
                for parameter in holder["parameters"]
                if not (parameter.get("in") == "header" and parameter.get("name", "").lower() in _GATEWAY_HEADERS)
            ]


def _operations(paths: Mapping[str, Any]) -> list[Document]:
    return [operation for item in paths.values() for method, operation in item.items() if method in _METHODS]


def _schemas(document: Document) -> dict[str, Any]:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    return schemas


def _owner(path: str) -> Service | None:
    resource = RESOURCES.get(path.lstrip("/").split("/", 1)[0])
    return resource.service if resource else None
