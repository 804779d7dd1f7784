"""admin tables: admin accounts and participant exclusions (study_app/admin/models.py)

Revision ID: 4de16579cbb8
Revises: 785d4103ed5a
Create Date: 2026-11-25 22:16:44.637494

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4de16579cbb8"
down_revision = "785d4103ed5a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "admin_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "exclusion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["admin_id"],
            ["admin_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id"),
    )


def downgrade():
    op.drop_table("exclusion")
    op.drop_table("admin_user")
