"""a flash-sale slot's sold stays within 0 and its total (CHECK)

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No row is corrected first: a slot outside its bounds is a defect to see, so the upgrade fails on it.
    with op.batch_alter_table("campaign_stock", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_campaign_stock_sold_within_total"), "sold >= 0 AND sold <= total")


def downgrade() -> None:
    with op.batch_alter_table("campaign_stock", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_stock_sold_within_total"), type_="check")
