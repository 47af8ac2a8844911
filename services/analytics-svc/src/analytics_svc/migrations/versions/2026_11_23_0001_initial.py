"""initial

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from qunyun_shared.migrations import create_messaging_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "community_membership",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("joined_total", sa.Integer(), nullable=False),
        sa.Column("left_total", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "community_id", name=op.f("pk_community_membership")),
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("community_membership")
