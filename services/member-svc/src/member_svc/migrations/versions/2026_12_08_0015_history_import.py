"""a brand's history: merchant member ids, the digest of a member's history row, when communities opened,
and whether a tenant's imported history earns points

Revision ID: 0015
Revises: 0014

Communities opened when they were created, until now: `opened_at` starts as `created_at`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merchant_member_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("history_digest", sa.LargeBinary(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_members_tenant_merchant_member_id", ["tenant_id", "merchant_member_id"])
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE communities SET opened_at = created_at")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.alter_column("opened_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    with op.batch_alter_table("points_policies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("history_earns_points", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("points_policies", schema=None) as batch_op:
        batch_op.drop_column("history_earns_points")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("opened_at")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint("uq_members_tenant_merchant_member_id", type_="unique")
        batch_op.drop_column("history_digest")
        batch_op.drop_column("merchant_member_id")
