"""Renders the event reference (docs/events.md) from the catalogue: `python -m qunyun_shared.events.reference`."""

from typing import Any

from qunyun_shared.events.catalogue import CATALOGUE, EventSpec

_HEADER = """# Event reference

Generated from `shared/src/qunyun_shared/events/` by `make docs`; a test fails when it is out of date.

Every event is a CloudEvents 1.0 event in the Kafka binding's binary mode: the payload below is the
JSON message value; the context attributes travel as `ce_*` headers (`ce_id`, `ce_source`, `ce_type`,
`ce_time`, `ce_subject`, `ce_specversion`, `content-type`) plus Qunyun's extensions `ce_tenantid`,
`ce_partitionkey` (also the message key: tenant + subject, so one member's events stay in order),
`ce_dataversion` (the payload version), `ce_correlationid` and, on events announcing imported history,
`ce_imported: true` (projections take them like live ones; automations, points and webhooks do not
react to them). Topics are `<prefix>.<producer>`
(`qunyun.member`, ...); consumers skip types or versions they do not know and dead-letter malformed
messages to `<prefix>.deadletter`. Payloads evolve additively; a breaking change is a new version.

Public events also reach partners: the gateway delivers each one to the tenant's webhook endpoints
subscribed to its type, as a Standard Webhooks message whose body is
`{"id": <event id>, "type", "version", "timestamp", "data": <the payload below>}`. Internal events
(the Webhooks column says so) stay between the services.
"""


def render() -> str:
    """The whole reference as Markdown."""
    sections = [_HEADER, "| Event | Version | Producer | Topic | Webhooks | Summary |", "|---|---|---|---|---|---|"]
    specs = sorted(CATALOGUE.values(), key=lambda spec: (spec.producer, spec.type, spec.version))
    for spec in specs:
        sections.append(
            f"| [`{spec.type}`](#{_anchor(spec)}) | {spec.version} | {spec.producer} | "
            f"`qunyun.{spec.stream}` | {'public' if spec.public else 'internal'} | {spec.summary} |"
        )
    for spec in specs:
        sections.append(_section(spec))
    return "\n".join(sections) + "\n"


def _anchor(spec: EventSpec) -> str:
    return f"{spec.type.replace('.', '')}-v{spec.version}"


def _section(spec: EventSpec) -> str:
    schema = spec.model.model_json_schema()
    required = set(schema.get("required", []))
    rows = [
        f"| `{name}` | {_type(field, schema)} | {'yes' if name in required else 'no'} |"
        for name, field in schema["properties"].items()
    ]
    return "\n".join(
        [
            f'\n## <a id="{_anchor(spec)}"></a>`{spec.type}` v{spec.version}\n',
            f"{spec.summary} Published by {spec.producer}; subject: `{spec.model.subject_field}`.\n",
            "| Field | Type | Required |",
            "|---|---|---|",
            *rows,
        ]
    )


def _type(field: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in field:
        return _type(schema["$defs"][field["$ref"].rsplit("/", 1)[1]], schema)
    if "anyOf" in field:
        return " or ".join(_type(option, schema) for option in field["anyOf"])
    if "enum" in field:
        return " \\| ".join(f"`{value}`" for value in field["enum"])
    if field.get("type") == "array":
        return f"list of {_type(field.get('items', {}), schema)}"
    if field.get("type") == "object" and "properties" in field:
        return "object (" + ", ".join(f"`{name}`" for name in field["properties"]) + ")"
    kind = field.get("format") or field.get("type", "any")
    if kind == "integer" and "minimum" in field and "maximum" in field:
        return f"integer ({field['minimum']} to {field['maximum']})"
    return str(kind)


if __name__ == "__main__":
    print(render(), end="")
