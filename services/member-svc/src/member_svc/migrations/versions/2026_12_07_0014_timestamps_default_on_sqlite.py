"""tag rules and points policies default their time with CURRENT_TIMESTAMP, which SQLite has too

Revision ID: 0014
Revises: 0013

0007 wrote these defaults as the literal `now()`: SQLite accepts it in the table definition but has no
such function, so every insert relying on it failed there (no tag rule could be created on `make run`).
`sa.func.now()` is rendered for each dialect: `now()` on PostgreSQL, `CURRENT_TIMESTAMP` on SQLite.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TIMESTAMPS = {"tag_rules": "created_at", "points_policies": "updated_at"}


def upgrade() -> None:
    for table, column in _TIMESTAMPS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.DateTime(timezone=True), server_default=sa.func.now())


def downgrade() -> None:
    for table, column in _TIMESTAMPS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.DateTime(timezone=True), server_default=sa.text("now()"))
