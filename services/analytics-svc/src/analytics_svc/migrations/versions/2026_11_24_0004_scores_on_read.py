"""member_facts keeps the segment and churn flag only: scores are computed when asked, so a refit writes
just the members whose decisions changed

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DROPPED = (
    "recency_score",
    "frequency_score",
    "monetary_score",
    "churn_score",
    "churn_reasons",
    "probability_alive",
    "lifetime_value_fen",
)


def upgrade() -> None:
    with op.batch_alter_table("member_facts") as table:
        for column in DROPPED:
            table.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("member_facts") as table:
        table.add_column(sa.Column("recency_score", sa.Integer(), nullable=True))
        table.add_column(sa.Column("frequency_score", sa.Integer(), nullable=True))
        table.add_column(sa.Column("monetary_score", sa.Integer(), nullable=True))
        table.add_column(sa.Column("churn_score", sa.Float(), nullable=True))
        table.add_column(sa.Column("churn_reasons", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(sa.Column("probability_alive", sa.Float(), nullable=True))
        table.add_column(sa.Column("lifetime_value_fen", sa.BigInteger(), nullable=True))
