"""refit jobs: a refit asked for through the API runs in the background, polled by its id

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_UNFINISHED = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "refit_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refit_jobs")),
    )
    op.create_index(
        "ix_refit_jobs_tenant_id_unfinished",
        "refit_jobs",
        ["tenant_id"],
        unique=True,
        sqlite_where=_UNFINISHED,
        postgresql_where=_UNFINISHED,
    )
    op.create_index("ix_refit_jobs_status_created_at", "refit_jobs", ["status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_refit_jobs_status_created_at", table_name="refit_jobs")
    op.drop_index("ix_refit_jobs_tenant_id_unfinished", table_name="refit_jobs")
    op.drop_table("refit_jobs")
