"""idempotency keys indexed by age, for their expiry

Revision ID: 0011
Revises: 0010
"""

from qunyun_shared.migrations import drop_idempotency_keys_age_index_v2, index_idempotency_keys_by_age_v2

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    index_idempotency_keys_by_age_v2()


def downgrade() -> None:
    drop_idempotency_keys_age_index_v2()
