"""participant.outcome, last_active_at and is_test: how a study ended, released dropouts, test runs

Revision ID: c4a8e1f29d63
Revises: b7d2e5c81f04
Create Date: 2026-12-04 04:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4a8e1f29d63"
down_revision = "b7d2e5c81f04"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_active_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()))
    # participants from before: last heard from at their latest answer, else when they started
    op.execute(
        "UPDATE participant SET last_active_at = COALESCE("
        "(SELECT MAX(response.submitted_at) FROM response WHERE response.participant_id = participant.id),"
        " participant.created_at)"
    )
    op.execute("UPDATE participant SET outcome = 'completed' WHERE status = 'finished'")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.alter_column("last_active_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index("ix_participant_last_active_at", ["last_active_at"], unique=False)


def downgrade():
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_index("ix_participant_last_active_at")
        batch_op.drop_column("is_test")
        batch_op.drop_column("last_active_at")
        batch_op.drop_column("outcome")
