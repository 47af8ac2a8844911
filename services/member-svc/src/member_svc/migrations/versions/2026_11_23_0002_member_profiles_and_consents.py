"""member profiles and consents

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_consents_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gender", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("age_band", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("persona_tags", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("active_hours", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("phone_encrypted", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("phone_hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_members_tenant_phone", ["tenant_id", "phone_hash"])


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint("uq_members_tenant_phone", type_="unique")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("phone_hash")
        batch_op.drop_column("phone_encrypted")
        batch_op.drop_column("active_hours")
        batch_op.drop_column("persona_tags")
        batch_op.drop_column("region")
        batch_op.drop_column("age_band")
        batch_op.drop_column("gender")

    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_member_id"))

    op.drop_table("consents")
