"""admin_user.session_token (logout revokes sessions) and one participant per PROLIFIC_PID per study version

Revision ID: b7d3a91c5e20
Revises: 9c1e2f4a7b30
Create Date: 2026-11-28 21:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d3a91c5e20"
down_revision = "9c1e2f4a7b30"
branch_labels = None
depends_on = None


def upgrade():
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT study_id, prolific_pid, count(*) FROM participant WHERE prolific_pid IS NOT NULL "
                "GROUP BY study_id, prolific_pid HAVING count(*) > 1"
            )
        )
        .all()
    )
    if duplicates:  # never drop data to make the constraint fit: the researcher decides which row stays
        pids = ", ".join(f"{pid} (study {sid}, {n} rows)" for sid, pid, n in duplicates[:5])
        raise SystemExit(
            f"Error: {len(duplicates)} PROLIFIC_PIDs enrolled more than once: {pids}; "
            "delete the extra participants (their rows in every table), then upgrade again"
        )
    with op.batch_alter_table("admin_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
    # batch mode: SQLite can add a unique constraint only by rebuilding the table
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_participant_study_prolific_pid", ["study_id", "prolific_pid"])


def downgrade():
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint("uq_participant_study_prolific_pid", type_="unique")
    with op.batch_alter_table("admin_user", schema=None) as batch_op:
        batch_op.drop_column("session_token")
