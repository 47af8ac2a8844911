"""Who is calling: the gateway signs the caller's identity into an internal header that services verify.

The tenant a service acts for comes only from this header, never from a client-supplied value.
"""

import time
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
    return _verify(token, secret)[0]


def _verify(token: str, secret: str) -> tuple[Identity, float]:
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
    caller = Identity(
        tenant_id=str(claims["tid"]),
        principal=str(claims["sub"]),
        roles=tuple(claims.get("roles", ())),
        permissions=frozenset(claims.get("perms", ())),
    )
    return caller, float(claims["exp"])


class IdentityVerifier:
    """Verifies identity tokens, remembering each verified token until it expires.

    The gateway reuses a token for many requests, so most checks become one dictionary lookup.
    """

    def __init__(self, secret: str, *, capacity: int = 4096) -> None:
        self.secret = secret
        self.capacity = capacity
        self._verified: dict[str, tuple[float, Identity]] = {}

    def verify(self, token: str) -> Identity:
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        caller, expires_at = _verify(token, self.secret)
        if len(self._verified) >= self.capacity:
            self._verified.clear()
        self._verified[token] = (expires_at, caller)
        return caller
