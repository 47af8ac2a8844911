"""content calendar moderation engagement surveys

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "communities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_pushes_per_day", sa.Integer(), server_default="5", nullable=False),
        sa.Column("max_promotion_share", sa.Float(), server_default="0.3", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="Asia/Shanghai", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
    )
    op.create_index(op.f("ix_communities_tenant_id"), "communities", ["tenant_id"], unique=False)
    op.create_table(
        "community_hour_activity",
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("engagements", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", "hour", name=op.f("pk_community_hour_activity")),
    )
    op.create_table(
        "content_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=3), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("target_communities", sa.JSON(), nullable=False),
        sa.Column("target_segments", sa.JSON(), nullable=False),
        sa.Column("target_tags", sa.JSON(), nullable=False),
        sa.Column("author_member_id", sa.Uuid(), nullable=True),
        sa.Column("post_kind", sa.String(length=20), nullable=True),
        sa.Column("reply_to", sa.Uuid(), nullable=True),
        sa.Column("fingerprint", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("moderation_outcome", sa.String(length=4), nullable=False),
        sa.Column("moderation_reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reply_to"], ["content_items.id"], name=op.f("fk_content_items_reply_to_content_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_items")),
    )
    op.create_index(
        "ix_content_items_author_fingerprint",
        "content_items",
        ["tenant_id", "author_member_id", "fingerprint"],
        unique=False,
    )
    op.create_index("ix_content_items_tenant_created", "content_items", ["tenant_id", "created_at"], unique=False)
    op.create_table(
        "lexicon_terms",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=4), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "term", name=op.f("pk_lexicon_terms")),
    )
    op.create_table(
        "lexicon_versions",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_lexicon_versions")),
    )
    op.create_table(
        "member_affinity",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "tag", name=op.f("pk_member_affinity")),
    )
    op.create_table(
        "member_segments",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_segments")),
    )
    op.create_table(
        "member_tags",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "tag", name=op.f("pk_member_tags")),
    )
    op.create_index("ix_member_tags_tenant_tag", "member_tags", ["tenant_id", "tag"], unique=False)
    op.create_table(
        "attributed_orders",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"], ["content_items.id"], name=op.f("fk_attributed_orders_content_id_content_items")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_attributed_orders")),
    )
    op.create_index(op.f("ix_attributed_orders_content_id"), "attributed_orders", ["content_id"], unique=False)
    op.create_table(
        "engagements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"], ["content_items.id"], name=op.f("fk_engagements_content_id_content_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
    )
    op.create_index(
        "ix_engagements_content_action_member", "engagements", ["content_id", "action", "member_id"], unique=False
    )
    op.create_index(
        "ix_engagements_member_occurred", "engagements", ["tenant_id", "member_id", "occurred_at"], unique=False
    )
    op.create_table(
        "placements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(length=12), nullable=False),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audience_size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_placements_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["content_id"], ["content_items.id"], name=op.f("fk_placements_content_id_content_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
        sa.UniqueConstraint("content_id", "community_id", "publish_at", name=op.f("uq_placements_content_id")),
    )
    op.create_index("ix_placements_community_publish_at", "placements", ["community_id", "publish_at"], unique=False)
    op.create_index(
        "ix_placements_community_published_at", "placements", ["community_id", "published_at"], unique=False
    )
    op.create_index(op.f("ix_placements_content_id"), "placements", ["content_id"], unique=False)
    op.create_index("ix_placements_status_publish_at", "placements", ["status", "publish_at"], unique=False)
    op.create_table(
        "review_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["content_id"], ["content_items.id"], name=op.f("fk_review_cases_content_id_content_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_cases")),
    )
    op.create_index(op.f("ix_review_cases_content_id"), "review_cases", ["content_id"], unique=False)
    op.create_index(
        "ix_review_cases_tenant_status", "review_cases", ["tenant_id", "status", "created_at"], unique=False
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["content_items.id"], name=op.f("fk_surveys_content_id_content_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("content_id", name=op.f("uq_surveys_content_id")),
    )
    op.create_index(op.f("ix_surveys_tenant_id"), "surveys", ["tenant_id"], unique=False)
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_survey_answers_survey_id_surveys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("survey_id", "member_id", name=op.f("uq_survey_answers_survey_id")),
    )
    op.create_index(op.f("ix_survey_answers_member_id"), "survey_answers", ["member_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_answers_member_id"), table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index(op.f("ix_surveys_tenant_id"), table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_review_cases_tenant_status", table_name="review_cases")
    op.drop_index(op.f("ix_review_cases_content_id"), table_name="review_cases")
    op.drop_table("review_cases")
    op.drop_index("ix_placements_status_publish_at", table_name="placements")
    op.drop_index(op.f("ix_placements_content_id"), table_name="placements")
    op.drop_index("ix_placements_community_published_at", table_name="placements")
    op.drop_index("ix_placements_community_publish_at", table_name="placements")
    op.drop_table("placements")
    op.drop_index("ix_engagements_member_occurred", table_name="engagements")
    op.drop_index("ix_engagements_content_action_member", table_name="engagements")
    op.drop_table("engagements")
    op.drop_index(op.f("ix_attributed_orders_content_id"), table_name="attributed_orders")
    op.drop_table("attributed_orders")
    op.drop_index("ix_member_tags_tenant_tag", table_name="member_tags")
    op.drop_table("member_tags")
    op.drop_table("member_segments")
    op.drop_table("member_affinity")
    op.drop_table("lexicon_versions")
    op.drop_table("lexicon_terms")
    op.drop_index("ix_content_items_tenant_created", table_name="content_items")
    op.drop_index("ix_content_items_author_fingerprint", table_name="content_items")
    op.drop_table("content_items")
    op.drop_table("community_hour_activity")
    op.drop_index(op.f("ix_communities_tenant_id"), table_name="communities")
    op.drop_table("communities")
