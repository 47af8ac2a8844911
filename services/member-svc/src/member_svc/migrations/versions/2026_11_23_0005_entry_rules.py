"""entry rules applications purchases levels

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("first_ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "product_id", name=op.f("pk_purchases")),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("inviter_id", sa.Uuid(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_applications_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["inviter_id"], ["members.id"], name=op.f("fk_applications_inviter_id_members")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_applications_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applications_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_applications_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry_rule", sa.String(length=20), server_default="open", nullable=False))
        batch_op.add_column(sa.Column("entry_product_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_min_level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("questionnaire", sa.JSON(), server_default="[]", nullable=False))

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("level")

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("questionnaire")
        batch_op.drop_column("entry_min_level")
        batch_op.drop_column("entry_product_id")
        batch_op.drop_column("entry_rule")

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_member_id"))
        batch_op.drop_index(batch_op.f("ix_applications_community_id"))

    op.drop_table("applications")
    op.drop_table("purchases")
