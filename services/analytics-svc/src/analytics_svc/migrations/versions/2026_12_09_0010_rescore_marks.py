"""rescore marks: members only imported history touched await the sweep that rescores them

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_MARKED = sa.text("rescore_marked_at IS NOT NULL")


def upgrade() -> None:
    # Recreated on SQLite if need be: keep its AUTOINCREMENT (see 0008).
    with op.batch_alter_table("member_facts", table_kwargs={"sqlite_autoincrement": True}) as table:
        table.add_column(sa.Column("rescore_marked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_member_facts_tenant_id_rescore_marked_at",
        "member_facts",
        ["tenant_id", "rescore_marked_at"],
        unique=False,
        sqlite_where=_MARKED,
        postgresql_where=_MARKED,
    )


def downgrade() -> None:
    op.drop_index("ix_member_facts_tenant_id_rescore_marked_at", table_name="member_facts")
    with op.batch_alter_table("member_facts", table_kwargs={"sqlite_autoincrement": True}) as table:
        table.drop_column("rescore_marked_at")
