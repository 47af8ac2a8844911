"""member, order and content facts, daily counts and member sets, tenant models, community states, alerts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from qunyun_shared.erasure import create_erased_members_table_v1

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kpi", sa.String(length=40), nullable=False),
        sa.Column("condition", sa.String(length=10), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_index(op.f("ix_alert_rules_tenant_id"), "alert_rules", ["tenant_id"], unique=False)
    op.create_table(
        "community_states",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=True),
        sa.Column("health", sa.Float(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "community_id", name=op.f("pk_community_states")),
    )
    op.create_table(
        "content_facts",
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=True),
        sa.Column("content_type", sa.String(length=12), nullable=True),
        sa.Column("source", sa.String(length=3), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("completes", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("content_id", name=op.f("pk_content_facts")),
    )
    op.create_index("ix_content_facts_tenant_id_posted_at", "content_facts", ["tenant_id", "posted_at"], unique=False)
    op.create_table(
        "daily_counts",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "community_id", "metric", "day", name=op.f("pk_daily_counts")),
    )
    op.create_table(
        "daily_members",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "community_id", "kind", "day", name=op.f("pk_daily_members")),
    )
    create_erased_members_table_v1()
    op.create_table(
        "member_facts",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("memberships", sa.Integer(), nullable=False),
        sa.Column("first_joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inviter_id", sa.Uuid(), nullable=True),
        sa.Column("first_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("engagement_fast", sa.Float(), nullable=False),
        sa.Column("engagement_slow", sa.Float(), nullable=False),
        sa.Column("engagement_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("first_order_fen", sa.BigInteger(), nullable=True),
        sa.Column("recency_score", sa.Integer(), nullable=True),
        sa.Column("frequency_score", sa.Integer(), nullable=True),
        sa.Column("monetary_score", sa.Integer(), nullable=True),
        sa.Column("segment", sa.String(length=12), nullable=True),
        sa.Column("churn_score", sa.Float(), nullable=True),
        sa.Column("churn_flagged", sa.Boolean(), nullable=False),
        sa.Column("churn_reasons", sa.JSON(), nullable=False),
        sa.Column("probability_alive", sa.Float(), nullable=True),
        sa.Column("lifetime_value_fen", sa.BigInteger(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_member_facts")),
        sa.UniqueConstraint("member_id", name=op.f("uq_member_facts_member_id")),
    )
    op.create_index("ix_member_facts_tenant_id_segment", "member_facts", ["tenant_id", "segment"], unique=False)
    op.create_table(
        "order_facts",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("content_id", sa.Uuid(), nullable=True),
        sa.Column("inviter_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_facts")),
    )
    op.create_index(
        "ix_order_facts_tenant_id_member_id_placed_at",
        "order_facts",
        ["tenant_id", "member_id", "placed_at"],
        unique=False,
    )
    op.create_table(
        "tenant_models",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("breakpoints", sa.JSON(), nullable=False),
        sa.Column("purchases", sa.JSON(), nullable=True),
        sa.Column("spend", sa.JSON(), nullable=True),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_models")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kpi", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alert_rules.id"], name=op.f("fk_alerts_rule_id_alert_rules"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_rule_id"), "alerts", ["rule_id"], unique=False)
    op.create_index("ix_alerts_tenant_id_raised_at", "alerts", ["tenant_id", "raised_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alerts_tenant_id_raised_at", table_name="alerts")
    op.drop_index(op.f("ix_alerts_rule_id"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("tenant_models")
    op.drop_index("ix_order_facts_tenant_id_member_id_placed_at", table_name="order_facts")
    op.drop_table("order_facts")
    op.drop_index("ix_member_facts_tenant_id_segment", table_name="member_facts")
    op.drop_table("member_facts")
    op.drop_table("erased_members")
    op.drop_table("daily_members")
    op.drop_table("daily_counts")
    op.drop_index("ix_content_facts_tenant_id_posted_at", table_name="content_facts")
    op.drop_table("content_facts")
    op.drop_table("community_states")
    op.drop_index(op.f("ix_alert_rules_tenant_id"), table_name="alert_rules")
    op.drop_table("alert_rules")
