"""renovations

Revision ID: c16a0000a002
Revises: c16a0000a001
Create Date: 2026-12-09 00:02:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c16a0000a002"
down_revision = "c16a0000a001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "renovations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("contractor", sa.String(length=200), nullable=False),
        sa.Column("contractor_licence", sa.String(length=100), nullable=True),
        sa.Column("foreman", sa.String(length=100), nullable=False),
        sa.Column("foreman_phone", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("workers", sa.JSON(), nullable=False),
        sa.Column("hours_text", sa.Text(), nullable=False),
        sa.Column("statement_text", sa.Text(), nullable=False),
        sa.Column("statement_signed", sa.String(length=10), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("review", sa.JSON(), nullable=True),
        sa.Column("returned_reason", sa.String(length=500), nullable=True),
        sa.Column("rejected_reason", sa.String(length=500), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approval", sa.JSON(), nullable=True),
        sa.Column("occupancy_due_on", sa.Date(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("visit_due_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["users.id"], name=op.f("fk_renovations_applicant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_renovations_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_renovations_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_renovations_estate_id_estates")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_renovations_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_renovations_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovations")),
        sa.UniqueConstraint("estate_id", "number", name=op.f("uq_renovations_estate_id_number")),
        sa.UniqueConstraint(
            "estate_id",
            "idempotency_key",
            name=op.f("uq_renovations_estate_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("renovations", schema=None) as batch_op:
        for column in (
            "due_at",
            "estate_id",
            "occupancy_due_on",
            "status",
            "unit_id",
            "visit_due_at",
        ):
            batch_op.create_index(batch_op.f(f"ix_renovations_{column}"), [column], unique=False)


def downgrade():
    with op.batch_alter_table("renovations", schema=None) as batch_op:
        for column in (
            "due_at",
            "estate_id",
            "occupancy_due_on",
            "status",
            "unit_id",
            "visit_due_at",
        ):
            batch_op.drop_index(batch_op.f(f"ix_renovations_{column}"))
    op.drop_table("renovations")
