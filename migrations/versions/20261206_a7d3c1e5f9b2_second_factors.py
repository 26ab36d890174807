"""two-step sign-in for staff: an authenticator secret and recovery codes per account

A staff member may turn on a second step at sign-in: a six-digit code from an authenticator
app (TOTP), or one of ten recovery codes, each good once (only their hashes are kept). A row
without `enabled_at` is a setup not yet confirmed. `last_step` keeps a code from being
accepted twice.

Revision ID: a7d3c1e5f9b2
Revises: 8e4b7c2d1f90
Create Date: 2026-12-06 00:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7d3c1e5f9b2"
down_revision = "8e4b7c2d1f90"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "second_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("enabled_at", sa.DateTime(), nullable=True),
        sa.Column("recovery_hashes", sa.JSON(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_second_factors_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_factors")),
        sa.UniqueConstraint("user_id", name=op.f("uq_second_factors_user_id")),
    )


def downgrade():
    op.drop_table("second_factors")
