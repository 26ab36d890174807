"""account codes: one-time codes for a resident's activation and a password reset

Only a keyed hash of each code is kept, with its purpose, person, expiry, wrong tries
and the moment it was used (portal/core/codes.py).

Revision ID: 17fd0ed218f5
Revises: a7d3c5e9f214
Create Date: 2026-12-06 00:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "17fd0ed218f5"
down_revision = "a7d3c5e9f214"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_codes")),
    )
    op.create_index(
        "ix_account_codes_user_purpose", "account_codes", ["user_id", "purpose"], unique=False
    )


def downgrade():
    op.drop_index("ix_account_codes_user_purpose", table_name="account_codes")
    op.drop_table("account_codes")
