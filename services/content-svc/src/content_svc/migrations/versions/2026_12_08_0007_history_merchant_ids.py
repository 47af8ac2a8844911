"""history imports: items and engagement carry the merchant's own ids, unique per tenant

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("content_items", sa.Column("merchant_content_id", sa.String(length=128), nullable=True))
    op.add_column("content_items", sa.Column("history_digest", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_content_items_tenant_merchant_content_id",
        "content_items",
        ["tenant_id", "merchant_content_id"],
        unique=True,
    )
    op.add_column("engagements", sa.Column("merchant_action_id", sa.String(length=128), nullable=True))
    op.create_index(
        "ix_engagements_tenant_merchant_action_id", "engagements", ["tenant_id", "merchant_action_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_engagements_tenant_merchant_action_id", table_name="engagements")
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("merchant_action_id")
    op.drop_index("ix_content_items_tenant_merchant_content_id", table_name="content_items")
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.drop_column("history_digest")
        batch_op.drop_column("merchant_content_id")
