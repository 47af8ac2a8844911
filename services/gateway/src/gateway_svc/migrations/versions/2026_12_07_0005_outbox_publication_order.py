"""outbox rows carry the id of the transaction that wrote them: the relay's publication order

Revision ID: 0005
Revises: 0004
"""

from qunyun_shared.migrations import add_outbox_transaction_ids_v2, drop_outbox_transaction_ids_v2

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_transaction_ids_v2()


def downgrade() -> None:
    drop_outbox_transaction_ids_v2()
