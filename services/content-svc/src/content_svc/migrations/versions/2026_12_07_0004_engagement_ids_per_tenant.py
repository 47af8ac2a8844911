"""an engagement's client-supplied id is unique per tenant, not across tenants

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("pk_engagements"), type_="primary")
        batch_op.create_primary_key(op.f("pk_engagements"), ["tenant_id", "id"])


def downgrade() -> None:
    # Two tenants may now hold one id; only one row of each id can stay under the old key.
    op.execute(
        "DELETE FROM engagements WHERE EXISTS (SELECT 1 FROM engagements e"
        " WHERE e.id = engagements.id AND e.tenant_id < engagements.tenant_id)"
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("pk_engagements"), type_="primary")
        batch_op.create_primary_key(op.f("pk_engagements"), ["id"])
