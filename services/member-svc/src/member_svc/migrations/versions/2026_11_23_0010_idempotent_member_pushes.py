"""idempotency keys for member pushes

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from qunyun_shared.migrations import create_idempotency_keys_table_v1

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_keys_table_v1()


def downgrade() -> None:
    op.drop_table("idempotency_keys")
