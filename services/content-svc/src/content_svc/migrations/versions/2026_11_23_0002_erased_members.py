"""erased members

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from qunyun_shared.erasure import create_erased_members_table_v1

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_members_table_v1()


def downgrade() -> None:
    op.drop_table("erased_members")
