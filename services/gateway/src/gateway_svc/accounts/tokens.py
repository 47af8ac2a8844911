"""Access tokens: short-lived JWTs an operator's front-end sends on every call."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from gateway_svc.exceptions import InvalidCredentials

_ALGORITHM = "HS256"  # pinned: a token naming another algorithm (or none) is refused
_ISSUER = "qunyun-gateway"
_AUDIENCE = "qunyun-api"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    operator_id: uuid.UUID
    tenant_id: str
    roles: tuple[str, ...]
    issued_at: datetime


class AccessTokens:
    """Issues and checks access tokens with a key derived from ACCESS_TOKEN_SECRET, which only the
    gateway holds: the services, holding INTERNAL_TOKEN_SECRET to verify the internal identity, can
    neither mint an operator's token nor make one of their headers pass for it."""

    def __init__(self, signing_secret: str, *, ttl: timedelta) -> None:
        self._key = hmac.new(signing_secret.encode(), b"qunyun access tokens v1", hashlib.sha256).digest()
        self.ttl = ttl

    def issue(self, *, operator_id: uuid.UUID, tenant_id: uuid.UUID, roles: list[str], now: datetime) -> str:
        claims = {
            "iss": _ISSUER,
            "aud": _AUDIENCE,
            "sub": f"operator:{operator_id}",
            "tid": str(tenant_id),
            "roles": roles,
            # Fractional (NumericDate allows it): revocation compares it with an instant to the microsecond.
            "iat": now.timestamp(),
            "exp": now + self.ttl,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        """The token's claims, if its signature, algorithm, issuer, audience and expiry all hold."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "tid"]},
            )
            kind, _, operator_id = str(claims["sub"]).partition(":")
            if kind != "operator":
                raise jwt.InvalidTokenError("not an operator")
            return AccessClaims(
                operator_id=uuid.UUID(operator_id),
                tenant_id=str(claims["tid"]),
                roles=tuple(claims.get("roles", ())),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidCredentials(f"The access token is not valid: {exc}.") from None
