"""tenant rate-limit plans

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_rate_limits",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("per_credential", sa.Integer(), nullable=False),
        sa.Column("per_tenant", sa.Integer(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_rate_limits_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("tenant_rate_limits")
