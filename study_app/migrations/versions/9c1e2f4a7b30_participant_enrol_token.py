"""participant.enrol_token: the consent form's one-time token, so a retried consent POST enrols no one twice

Revision ID: 9c1e2f4a7b30
Revises: 4de16579cbb8
Create Date: 2026-11-26 02:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9c1e2f4a7b30"
down_revision = "4de16579cbb8"
branch_labels = None
depends_on = None


def upgrade():
    # batch mode: SQLite can add a unique constraint only by rebuilding the table
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrol_token", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_participant_enrol_token", ["enrol_token"])


def downgrade():
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint("uq_participant_enrol_token", type_="unique")
        batch_op.drop_column("enrol_token")
