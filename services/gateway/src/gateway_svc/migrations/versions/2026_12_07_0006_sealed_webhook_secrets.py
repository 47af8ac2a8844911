"""webhook signing secrets sealed at rest (AES-256-GCM under WEBHOOK_SECRET_KEY)

Revision ID: 0006
Revises: 0005
"""

import base64
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from qunyun_shared.sealing import Sealer

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# As in gateway_svc/webhooks/sealed_secrets.py when this was written; fixed here so that this migration
# keeps doing what it did whatever that module becomes.
_PURPOSE = b"qunyun webhook signing secrets"
_ENDPOINTS = sa.table(
    "webhook_endpoints", sa.column("id", sa.Uuid()), sa.column("secret", sa.String()), sa.column("previous_secret")
)


def upgrade() -> None:
    _resize(sa.String(100), sa.String(200))
    _rewrite(lambda sealer, secret, endpoint_id: _seal(sealer, secret, endpoint_id))


def downgrade() -> None:
    _rewrite(
        lambda sealer, sealed, endpoint_id: sealer.open(base64.b64decode(sealed), context=endpoint_id.bytes).decode()
    )
    _resize(sa.String(200), sa.String(100))


def _seal(sealer: Sealer, secret: str, endpoint_id: uuid.UUID) -> str:
    return base64.b64encode(sealer.seal(secret.encode(), context=endpoint_id.bytes)).decode()


def _resize(old: sa.String, new: sa.String) -> None:
    with op.batch_alter_table("webhook_endpoints") as endpoints:
        endpoints.alter_column("secret", type_=new, existing_type=old, existing_nullable=False)
        endpoints.alter_column("previous_secret", type_=new, existing_type=old, existing_nullable=True)


def _rewrite(change: Callable[[Sealer, str, uuid.UUID], str]) -> None:
    """Passes every stored secret through `change`; the key is read only when there is a secret to change."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_ENDPOINTS.c.id, _ENDPOINTS.c.secret, _ENDPOINTS.c.previous_secret)).all()
    if not rows:
        return
    from gateway_svc.config import Settings  # the service's own settings: WEBHOOK_SECRET_KEY, validated

    sealer = Sealer(Settings().webhook_secret_key.get_secret_value(), purpose=_PURPOSE)
    for endpoint_id, secret, previous in rows:
        connection.execute(
            sa.update(_ENDPOINTS)
            .where(_ENDPOINTS.c.id == endpoint_id)
            .values(
                secret=change(sealer, secret, endpoint_id),
                previous_secret=change(sealer, previous, endpoint_id) if previous else None,
            )
        )
