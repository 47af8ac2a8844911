"""referrals

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invited_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("invite_code", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_members_invited_by"), ["invited_by"], unique=False)
        batch_op.create_unique_constraint("uq_members_tenant_invite_code", ["tenant_id", "invite_code"])
        batch_op.create_foreign_key(batch_op.f("fk_members_invited_by_members"), "members", ["invited_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_members_invited_by_members"), type_="foreignkey")
        batch_op.drop_constraint("uq_members_tenant_invite_code", type_="unique")
        batch_op.drop_index(batch_op.f("ix_members_invited_by"))
        batch_op.drop_column("invite_code")
        batch_op.drop_column("invited_by")
