"""docs/access.md, rendered from the roles and permissions table (`make docs`)."""

from gateway_svc.access import ALL, PERMISSIONS, ROLE_PERMISSIONS, Role


def render() -> str:
    roles = list(Role)
    header = "| Permission | What it allows | " + " | ".join(f"`{role}`" for role in roles) + " |"
    rows = [
        f"| `{name}` | {allows} | " + " | ".join("yes" if _grants(role, name) else "" for role in roles) + " |"
        for name, allows in PERMISSIONS.items()
    ]
    lines = [
        "# Roles and permissions",
        "",
        "Generated from `services/gateway/src/gateway_svc/access.py` by `make docs`; do not edit.",
        "",
        "Operators (signed in with an access token) and API keys carry roles; a key may be narrowed further",
        "to a list of permissions (its scopes). The gateway checks the permission of every route before",
        "forwarding: reads (`GET`) need the area's `:read`, every other method its `:write` (placing, paying,",
        "cancelling and refunding orders need `orders:write`). Under `/api/v1`, `communities`, `members`,",
        "`points` and `tags` are the `members` area; `content`, `campaigns` and `analytics` are their own.",
        "Nobody can grant a role or scope holding more than they hold themselves.",
        "",
        header,
        "|---|---|" + "---|" * len(roles),
        *rows,
        "",
    ]
    return "\n".join(lines)


def _grants(role: Role, permission: str) -> bool:
    granted = ROLE_PERMISSIONS[role]
    return ALL in granted or permission in granted


if __name__ == "__main__":
    print(render(), end="")
