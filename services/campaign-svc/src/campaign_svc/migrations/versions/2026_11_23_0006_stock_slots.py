"""flash-sale stock spread over slots

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A sale's existing row becomes its slot 0.
    with op.batch_alter_table("campaign_stock", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_constraint(op.f("pk_campaign_stock"), type_="primary")
        batch_op.create_primary_key(op.f("pk_campaign_stock"), ["campaign_id", "slot"])
    with op.batch_alter_table("campaign_stock", schema=None) as batch_op:
        batch_op.alter_column("slot", server_default=None)


def downgrade() -> None:
    # Each sale's slots folded back into one row.
    op.execute(
        "UPDATE campaign_stock SET"
        " total = (SELECT sum(s.total) FROM campaign_stock s WHERE s.campaign_id = campaign_stock.campaign_id),"
        " sold = (SELECT sum(s.sold) FROM campaign_stock s WHERE s.campaign_id = campaign_stock.campaign_id)"
        " WHERE slot = 0"
    )
    op.execute("DELETE FROM campaign_stock WHERE slot > 0")
    with op.batch_alter_table("campaign_stock", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("pk_campaign_stock"), type_="primary")
        batch_op.create_primary_key(op.f("pk_campaign_stock"), ["campaign_id"])
        batch_op.drop_column("slot")
