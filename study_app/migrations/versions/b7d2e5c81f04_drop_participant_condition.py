"""participant.condition: dropped, the study app assigns no conditions (every participant got "default")

Revision ID: b7d2e5c81f04
Revises: b7d3a91c5e20
Create Date: 2026-11-28 21:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d2e5c81f04"
down_revision = "b7d3a91c5e20"
branch_labels = None
depends_on = None


def upgrade():
    # batch mode: SQLite drops a column by rebuilding the table
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("condition")


def downgrade():
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("condition", sa.String(length=64), nullable=False, server_default="default"))
