"""passes: goods release, visitor and worker passes, and their checks at the gate

A pass has a gap-free number per estate and a unique unguessable code (its QR code); every
check at the gate is a row of pass_checks, with or without a pass (an unknown code).

Revision ID: b15a0000a001
Revises: 5e2c8a4f0d17
Create Date: 2026-12-08 00:01:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b15a0000a001"
down_revision = "5e2c8a4f0d17"
branch_labels = None
depends_on = None


def _fk(table, column, target):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade():
    op.create_table(
        "passes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_until", sa.DateTime(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column("plate", sa.String(length=20), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), nullable=True),
        sa.Column("source_kind", sa.String(length=30), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("passes", "estate_id", "estates"),
        _fk("passes", "unit_id", "units"),
        _fk("passes", "requested_by_id", "users"),
        _fk("passes", "approved_by_id", "users"),
        _fk("passes", "revoked_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passes")),
        sa.UniqueConstraint("code", name=op.f("uq_passes_code")),
        sa.UniqueConstraint("estate_id", "number", name=op.f("uq_passes_estate_id_number")),
    )
    op.create_index("ix_passes_unit_id", "passes", ["unit_id"])
    op.create_index("ix_passes_requested_by_id", "passes", ["requested_by_id"])
    op.create_index("ix_passes_estate_valid", "passes", ["estate_id", "valid_from"])
    op.create_index("ix_passes_source", "passes", ["source_kind", "source_id"])
    op.create_table(
        "pass_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=True),
        sa.Column("pass_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("pass_checks", "estate_id", "estates"),
        _fk("pass_checks", "pass_id", "passes"),
        _fk("pass_checks", "checked_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pass_checks")),
    )
    op.create_index("ix_pass_checks_estate_at", "pass_checks", ["estate_id", "at"])
    op.create_index("ix_pass_checks_pass_id", "pass_checks", ["pass_id"])
    op.create_index("ix_pass_checks_checked_by_id", "pass_checks", ["checked_by_id"])


def downgrade():
    op.drop_table("pass_checks")
    op.drop_table("passes")
