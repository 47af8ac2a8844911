"""invitations members send

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("inviter_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_invitations_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["inviter_id"], ["members.id"], name=op.f("fk_invitations_inviter_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index(op.f("ix_invitations_inviter_id"), "invitations", ["inviter_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_invitations_inviter_id"), table_name="invitations")
    op.drop_table("invitations")
