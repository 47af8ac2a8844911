"""community overflow archive and membership records

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
        "membership_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_membership_records_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_membership_records_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_records")),
    )
    with op.batch_alter_table("membership_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_records_member_id"), ["member_id"], unique=False)

    op.create_table(
        "waitlist",
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("inviter_id", sa.Uuid(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_waitlist_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["inviter_id"], ["members.id"], name=op.f("fk_waitlist_inviter_id_members")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_waitlist_member_id_members")),
        sa.PrimaryKeyConstraint("community_id", "member_id", name=op.f("pk_waitlist")),
    )
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_queued_at"), ["queued_at"], unique=False)

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overflow", sa.String(length=10), server_default="waitlist", nullable=False))
        batch_op.add_column(sa.Column("sibling_of", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_communities_sibling_of_communities"), "communities", ["sibling_of"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_communities_sibling_of_communities"), type_="foreignkey")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("sibling_of")
        batch_op.drop_column("overflow")

    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_queued_at"))

    op.drop_table("waitlist")
    with op.batch_alter_table("membership_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_records_member_id"))

    op.drop_table("membership_records")
