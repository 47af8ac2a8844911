"""points ledger and levels, tags and tag rules, member lifecycle, segment and churn flag

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "points_policies",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("earn_rules", sa.JSON(), nullable=False),
        sa.Column("expiry_days", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_points_policies")),
    )
    op.create_table(
        "tag_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("match", sa.String(length=3), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_rules")),
        sa.UniqueConstraint("tenant_id", "tag", name=op.f("uq_tag_rules_tenant_id")),
    )
    op.create_table(
        "member_activity",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("order_total_fen", sa.BigInteger(), nullable=False),
        sa.Column("participations", sa.Integer(), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_activity_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_activity")),
    )
    op.create_table(
        "member_tags",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_tags_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", "tag", name=op.f("pk_member_tags")),
    )
    op.create_index("ix_member_tags_tenant_tag_member", "member_tags", ["tenant_id", "tag", "member_id"], unique=False)
    op.create_table(
        "points_accounts",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("debt", sa.Integer(), nullable=False),
        sa.Column("lifetime", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_points_accounts_balance_not_negative")),
        sa.CheckConstraint("debt >= 0", name=op.f("ck_points_accounts_debt_not_negative")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_points_accounts_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_points_accounts")),
    )
    op.create_table(
        "points_ledger",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("order_amount_fen", sa.Integer(), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_points_ledger_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_ledger")),
        sa.UniqueConstraint("tenant_id", "source", name="uq_points_ledger_tenant_source"),
    )
    op.create_index(
        "ix_points_ledger_expiring", "points_ledger", ["expires_at"], unique=False, postgresql_where="remaining > 0"
    )
    op.create_index("ix_points_ledger_member_at", "points_ledger", ["member_id", "at"], unique=False)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lifecycle", sa.String(length=10), server_default="prospect", nullable=False))
        batch_op.add_column(sa.Column("segment", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("churn_risk", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.add_column(sa.Column("churn_score", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("churn_flagged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f("ix_members_tenant_id"))
        batch_op.create_index("ix_members_tenant_id_id", ["tenant_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_tenant_id_id")
        batch_op.create_index(batch_op.f("ix_members_tenant_id"), ["tenant_id"], unique=False)
        for column in ("churn_flagged_at", "churn_score", "churn_risk", "segment", "lifecycle"):
            batch_op.drop_column(column)
    op.drop_index("ix_points_ledger_member_at", table_name="points_ledger")
    op.drop_index("ix_points_ledger_expiring", table_name="points_ledger", postgresql_where="remaining > 0")
    op.drop_table("points_ledger")
    op.drop_table("points_accounts")
    op.drop_index("ix_member_tags_tenant_tag_member", table_name="member_tags")
    op.drop_table("member_tags")
    op.drop_table("member_activity")
    op.drop_table("tag_rules")
    op.drop_table("points_policies")
