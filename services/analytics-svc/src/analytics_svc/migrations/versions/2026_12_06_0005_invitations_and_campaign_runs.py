"""invitations sent and campaign runs, for referral analytics

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
        "invitation_facts",
        sa.Column("invitation_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("inviter_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("invitation_id", name=op.f("pk_invitation_facts")),
    )
    op.create_index("ix_invitation_facts_tenant_id_sent_at", "invitation_facts", ["tenant_id", "sent_at"])
    op.create_index(op.f("ix_invitation_facts_inviter_id"), "invitation_facts", ["inviter_id"])
    op.create_table(
        "campaign_runs",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_runs")),
    )
    op.create_index("ix_campaign_runs_tenant_id_kind", "campaign_runs", ["tenant_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_campaign_runs_tenant_id_kind", table_name="campaign_runs")
    op.drop_table("campaign_runs")
    op.drop_index(op.f("ix_invitation_facts_inviter_id"), table_name="invitation_facts")
    op.drop_index("ix_invitation_facts_tenant_id_sent_at", table_name="invitation_facts")
    op.drop_table("invitation_facts")
