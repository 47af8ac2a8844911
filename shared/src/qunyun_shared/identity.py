"""Who is calling: the gateway signs the caller's identity into an internal header that services verify.

The tenant a service acts for comes only from this header, never from a client-supplied value.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt

IDENTITY_HEADER = "x-qunyun-identity"
_ALGORITHM = "HS256"
_AUDIENCE = "qunyun-internal"
_ISSUER = "qunyun-gateway"


@dataclass(frozen=True, slots=True)
class Identity:
    tenant_id: str
    principal: str
    roles: tuple[str, ...] = ()
    permissions: frozenset[str] = field(default_factory=frozenset)


class InvalidIdentity(Exception):
    """The identity header is missing, forged or expired."""


def sign(identity: Identity, secret: str, *, ttl: timedelta = timedelta(seconds=60)) -> str:
    """Signs an identity for one hop from the gateway to a service."""
    now = datetime.now(UTC)
    claims = {
        "iss": _ISSUER,
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + ttl,
        "tid": identity.tenant_id,
        "sub": identity.principal,
        "roles": list(identity.roles),
        "perms": sorted(identity.permissions),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify(token: str, secret: str) -> Identity:
    """Checks signature (algorithm pinned), audience, issuer and expiry."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "tid", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidIdentity(str(exc)) from exc
    return Identity(
        tenant_id=str(claims["tid"]),
        principal=str(claims["sub"]),
        roles=tuple(claims.get("roles", ())),
        permissions=frozenset(claims.get("perms", ())),
    )
