"""idempotency keys: every write answers a repeat of its Idempotency-Key with its first answer

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from qunyun_shared.migrations import (
    create_idempotency_keys_table_v1,
    drop_idempotency_keys_age_index_v2,
    index_idempotency_keys_by_age_v2,
)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_keys_table_v1()
    index_idempotency_keys_by_age_v2()


def downgrade() -> None:
    drop_idempotency_keys_age_index_v2()
    op.drop_table("idempotency_keys")
