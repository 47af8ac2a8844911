"""members looked up by birthday

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_tenant_id_birthday", "members", ["tenant_id", "birthday"], unique=False)
    op.drop_index(op.f("ix_members_tenant_id"), table_name="members")


def downgrade() -> None:
    op.create_index(op.f("ix_members_tenant_id"), "members", ["tenant_id"], unique=False)
    op.drop_index("ix_members_tenant_id_birthday", table_name="members")
