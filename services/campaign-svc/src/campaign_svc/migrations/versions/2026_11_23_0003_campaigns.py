"""Campaigns, coupons, orders, flash sales, group-buys, lotteries, check-ins, referrals, automation, A/B tests

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("frequency_cap", sa.JSON(), nullable=True),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rules")),
    )
    op.create_index(
        "ix_automation_rules_tenant_trigger_enabled",
        "automation_rules",
        ["tenant_id", "trigger", "enabled"],
        unique=False,
    )
    op.create_table(
        "automation_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.BigInteger(), nullable=False),
        sa.Column("deferred_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_runs")),
        sa.UniqueConstraint("rule_id", "event_id", name=op.f("uq_automation_runs_rule_id")),
    )
    op.create_index("ix_automation_runs_rule_evaluated", "automation_runs", ["rule_id", "evaluated_at"], unique=False)
    op.create_index(
        "ix_automation_runs_rule_member_evaluated",
        "automation_runs",
        ["rule_id", "member_id", "evaluated_at"],
        unique=False,
    )
    op.create_index(
        "ix_automation_runs_tenant_member_evaluated",
        "automation_runs",
        ["tenant_id", "member_id", "evaluated_at"],
        unique=False,
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("budget_fen", sa.BigInteger(), nullable=True),
        sa.Column("committed_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("spent_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("ended_reason", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_tenant_kind_status", "campaigns", ["tenant_id", "kind", "status"], unique=False)
    op.create_table(
        "experiments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("alpha", sa.Float(), server_default="0.05", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
    )
    op.create_index("ix_experiments_tenant_status", "experiments", ["tenant_id", "status"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "member_quotas",
        sa.Column("scope_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "member_id", name=op.f("pk_member_quotas")),
    )
    op.create_index(op.f("ix_member_quotas_member_id"), "member_quotas", ["member_id"], unique=False)
    op.create_table(
        "members",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("inviter_id", sa.Uuid(), nullable=True),
        sa.Column("first_joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("communities_joined", sa.Integer(), server_default="0", nullable=False),
        sa.Column("marketing_consent", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("consent_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("level", sa.Integer(), server_default="0", nullable=False),
        sa.Column("churn_risk", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("birthday", sa.String(length=5), nullable=True),
        sa.Column("engagements", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_engaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_members")),
    )
    op.create_index(op.f("ix_members_inviter_id"), "members", ["inviter_id"], unique=False)
    op.create_index(op.f("ix_members_tenant_id"), "members", ["tenant_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("subtotal_fen", sa.BigInteger(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("coupon_id", sa.Uuid(), nullable=True),
        sa.Column("content_id", sa.Uuid(), nullable=True),
        sa.Column("inviter_id", sa.Uuid(), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("tenant_id", "external_id", name=op.f("uq_orders_tenant_id")),
    )
    op.create_index("ix_orders_campaign", "orders", ["campaign_id"], unique=False)
    op.create_index("ix_orders_tenant_member", "orders", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "referral_rewards",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("invitee_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("inviter_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("coupon_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "invitee_id", "stage", name=op.f("pk_referral_rewards")),
    )
    op.create_index(
        "ix_referral_rewards_campaign_inviter", "referral_rewards", ["campaign_id", "inviter_id"], unique=False
    )
    op.create_index(op.f("ix_referral_rewards_invitee_id"), "referral_rewards", ["invitee_id"], unique=False)
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_settings")),
    )
    op.create_table(
        "automation_deferrals",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["automation_runs.id"], name=op.f("fk_automation_deferrals_run_id_automation_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_automation_deferrals")),
    )
    op.create_index(op.f("ix_automation_deferrals_due_at"), "automation_deferrals", ["due_at"], unique=False)
    op.create_table(
        "campaign_stock",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("sold", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_stock_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_stock")),
    )
    op.create_table(
        "checkin_milestones",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.Column("granted", sa.JSON(), nullable=True),
        sa.Column("grant_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_checkin_milestones_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "member_id", "day", name=op.f("pk_checkin_milestones")),
    )
    op.create_index(
        "ix_checkin_milestones_tenant_member", "checkin_milestones", ["tenant_id", "member_id"], unique=False
    )
    op.create_table(
        "checkins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_checkins_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("campaign_id", "member_id", "day", name=op.f("uq_checkins_campaign_id")),
    )
    op.create_index("ix_checkins_tenant_member", "checkins", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "coupon_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("discount", sa.String(length=12), nullable=False),
        sa.Column("amount_off_fen", sa.BigInteger(), nullable=True),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("max_discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("min_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("per_member_limit", sa.Integer(), nullable=False),
        sa.Column("total_stock", sa.BigInteger(), nullable=True),
        sa.Column("issued", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("first_order_only", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_coupon_templates_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_templates")),
    )
    op.create_index(op.f("ix_coupon_templates_campaign_id"), "coupon_templates", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_coupon_templates_tenant_id"), "coupon_templates", ["tenant_id"], unique=False)
    op.create_table(
        "experiment_conversions",
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name=op.f("fk_experiment_conversions_experiment_id_experiments")
        ),
        sa.PrimaryKeyConstraint("experiment_id", "member_id", name=op.f("pk_experiment_conversions")),
    )
    op.create_index(op.f("ix_experiment_conversions_member_id"), "experiment_conversions", ["member_id"], unique=False)
    op.create_table(
        "experiment_exposures",
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("exposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name=op.f("fk_experiment_exposures_experiment_id_experiments")
        ),
        sa.PrimaryKeyConstraint("experiment_id", "member_id", name=op.f("pk_experiment_exposures")),
    )
    op.create_index(op.f("ix_experiment_exposures_member_id"), "experiment_exposures", ["member_id"], unique=False)
    op.create_table(
        "experiment_variants",
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name=op.f("fk_experiment_variants_experiment_id_experiments")
        ),
        sa.PrimaryKeyConstraint("experiment_id", "key", name=op.f("pk_experiment_variants")),
    )
    op.create_table(
        "groupbuy_teams",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("leader_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_groupbuy_teams_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groupbuy_teams")),
    )
    op.create_index(op.f("ix_groupbuy_teams_campaign_id"), "groupbuy_teams", ["campaign_id"], unique=False)
    op.create_index("ix_groupbuy_teams_status_expires", "groupbuy_teams", ["status", "expires_at"], unique=False)
    op.create_table(
        "lotteries",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.LargeBinary(length=32), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("draws", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_lotteries_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_lotteries")),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"], unique=False)
    op.create_table(
        "coupons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("discount_fen", sa.BigInteger(), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["template_id"], ["coupon_templates.id"], name=op.f("fk_coupons_template_id_coupon_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("template_id", "source", name=op.f("uq_coupons_template_id")),
    )
    op.create_index("ix_coupons_status_expires", "coupons", ["status", "expires_at"], unique=False)
    op.create_index("ix_coupons_tenant_member", "coupons", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "groupbuy_seats",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["groupbuy_teams.id"], name=op.f("fk_groupbuy_seats_team_id_groupbuy_teams")
        ),
        sa.PrimaryKeyConstraint("team_id", "member_id", name=op.f("pk_groupbuy_seats")),
        sa.UniqueConstraint("order_id", name=op.f("uq_groupbuy_seats_order_id")),
    )
    op.create_index(op.f("ix_groupbuy_seats_member_id"), "groupbuy_seats", ["member_id"], unique=False)
    op.create_table(
        "lottery_draws",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=True),
        sa.Column("member_ref", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("roll", sa.Integer(), nullable=False),
        sa.Column("prize_key", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=False),
        sa.Column("granted", sa.JSON(), nullable=True),
        sa.Column("grant_error", sa.String(length=500), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["lotteries.campaign_id"], name=op.f("fk_lottery_draws_campaign_id_lotteries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_draws")),
        sa.UniqueConstraint("campaign_id", "sequence", name=op.f("uq_lottery_draws_campaign_id")),
    )
    op.create_index("ix_lottery_draws_tenant_member", "lottery_draws", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "lottery_prizes",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("stock", sa.BigInteger(), nullable=False),
        sa.Column("awarded", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["lotteries.campaign_id"], name=op.f("fk_lottery_prizes_campaign_id_lotteries")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "key", name=op.f("pk_lottery_prizes")),
    )
    # What campaigns knew of members as prospects carries over; the new facts start from their defaults.
    op.execute(
        "INSERT INTO members (member_id, tenant_id, inviter_id, first_joined_at, communities_joined) "
        "SELECT member_id, tenant_id, inviter_id, first_joined_at, communities_joined FROM prospects"
    )
    op.drop_index(op.f("ix_prospects_tenant_id"), table_name="prospects")
    op.drop_table("prospects")


def downgrade() -> None:
    op.create_table(
        "prospects",
        sa.Column("member_id", sa.UUID(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.VARCHAR(length=64), autoincrement=False, nullable=False),
        sa.Column("inviter_id", sa.UUID(), autoincrement=False, nullable=True),
        sa.Column("first_joined_at", postgresql.TIMESTAMP(timezone=True), autoincrement=False, nullable=False),
        sa.Column("communities_joined", sa.INTEGER(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_prospects")),
    )
    op.create_index(op.f("ix_prospects_tenant_id"), "prospects", ["tenant_id"], unique=False)
    op.drop_table("lottery_prizes")
    op.drop_index("ix_lottery_draws_tenant_member", table_name="lottery_draws")
    op.drop_table("lottery_draws")
    op.drop_index(op.f("ix_groupbuy_seats_member_id"), table_name="groupbuy_seats")
    op.drop_table("groupbuy_seats")
    op.drop_index("ix_coupons_tenant_member", table_name="coupons")
    op.drop_index("ix_coupons_status_expires", table_name="coupons")
    op.drop_table("coupons")
    op.drop_index(op.f("ix_refunds_order_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_table("lotteries")
    op.drop_index("ix_groupbuy_teams_status_expires", table_name="groupbuy_teams")
    op.drop_index(op.f("ix_groupbuy_teams_campaign_id"), table_name="groupbuy_teams")
    op.drop_table("groupbuy_teams")
    op.drop_table("experiment_variants")
    op.drop_index(op.f("ix_experiment_exposures_member_id"), table_name="experiment_exposures")
    op.drop_table("experiment_exposures")
    op.drop_index(op.f("ix_experiment_conversions_member_id"), table_name="experiment_conversions")
    op.drop_table("experiment_conversions")
    op.drop_index(op.f("ix_coupon_templates_tenant_id"), table_name="coupon_templates")
    op.drop_index(op.f("ix_coupon_templates_campaign_id"), table_name="coupon_templates")
    op.drop_table("coupon_templates")
    op.drop_index("ix_checkins_tenant_member", table_name="checkins")
    op.drop_table("checkins")
    op.drop_index("ix_checkin_milestones_tenant_member", table_name="checkin_milestones")
    op.drop_table("checkin_milestones")
    op.drop_table("campaign_stock")
    op.drop_index(op.f("ix_automation_deferrals_due_at"), table_name="automation_deferrals")
    op.drop_table("automation_deferrals")
    op.drop_table("tenant_settings")
    op.drop_index(op.f("ix_referral_rewards_invitee_id"), table_name="referral_rewards")
    op.drop_index("ix_referral_rewards_campaign_inviter", table_name="referral_rewards")
    op.drop_table("referral_rewards")
    op.drop_index("ix_orders_tenant_member", table_name="orders")
    op.drop_index("ix_orders_campaign", table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_members_tenant_id"), table_name="members")
    op.drop_index(op.f("ix_members_inviter_id"), table_name="members")
    op.drop_table("members")
    op.drop_index(op.f("ix_member_quotas_member_id"), table_name="member_quotas")
    op.drop_table("member_quotas")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_experiments_tenant_status", table_name="experiments")
    op.drop_table("experiments")
    op.drop_index("ix_campaigns_tenant_kind_status", table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_index("ix_automation_runs_tenant_member_evaluated", table_name="automation_runs")
    op.drop_index("ix_automation_runs_rule_member_evaluated", table_name="automation_runs")
    op.drop_index("ix_automation_runs_rule_evaluated", table_name="automation_runs")
    op.drop_table("automation_runs")
    op.drop_index("ix_automation_rules_tenant_trigger_enabled", table_name="automation_rules")
    op.drop_table("automation_rules")
