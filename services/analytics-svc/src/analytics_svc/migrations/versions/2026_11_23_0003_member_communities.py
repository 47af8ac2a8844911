"""member_communities: each member's first join of each community, so that a return is not counted new

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_communities",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("first_joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inviter_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", "community_id", name=op.f("pk_member_communities")),
    )


def downgrade() -> None:
    op.drop_table("member_communities")
