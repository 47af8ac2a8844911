"""orders name the merchant's order (merchant_order_id, was external_id) and may be imported history
(imported, coupon_code, history_digest); the order listing's index by tenant and time

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        # The unique constraint keeps its name: the naming convention takes the first column's.
        batch_op.alter_column("external_id", new_column_name="merchant_order_id")
        batch_op.add_column(sa.Column("imported", sa.Boolean(), server_default="false", nullable=False))
        batch_op.add_column(sa.Column("coupon_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("history_digest", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_orders_tenant_placed_at", ["tenant_id", "placed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_tenant_placed_at")
        batch_op.drop_column("history_digest")
        batch_op.drop_column("coupon_code")
        batch_op.drop_column("imported")
        batch_op.alter_column("merchant_order_id", new_column_name="external_id")
