"""move-ins and move-outs

Revision ID: b15a0000a003
Revises: b15a0000a002
Create Date: 2026-12-08 00:03:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b15a0000a003"
down_revision = "b15a0000a002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "move_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("move_on", sa.Date(), nullable=False),
        sa.Column("occupancy", sa.String(length=32), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=True),
        sa.Column("inspection_result", sa.String(length=10), nullable=True),
        sa.Column("defects", sa.JSON(), nullable=True),
        sa.Column("repair_ids", sa.JSON(), nullable=True),
        sa.Column("handover", sa.JSON(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
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
            ["created_by_id"], ["users.id"], name=op.f("fk_move_ins_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_move_ins_estate_id_estates")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_move_ins_owner_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_move_ins_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_ins")),
        sa.UniqueConstraint("estate_id", "number", name=op.f("uq_move_ins_estate_id_number")),
        sa.UniqueConstraint(
            "estate_id", "idempotency_key", name=op.f("uq_move_ins_estate_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("move_ins", schema=None) as batch_op:
        for column in ("due_at", "estate_id", "status", "unit_id", "visit_due_at"):
            batch_op.create_index(batch_op.f(f"ix_move_ins_{column}"), [column], unique=False)
    op.create_table(
        "move_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("move_on", sa.Date(), nullable=False),
        sa.Column("occupancy", sa.String(length=32), nullable=False),
        sa.Column("clearance", sa.JSON(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
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
            ["created_by_id"], ["users.id"], name=op.f("fk_move_outs_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_move_outs_estate_id_estates")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_move_outs_owner_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_move_outs_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_outs")),
        sa.UniqueConstraint("estate_id", "number", name=op.f("uq_move_outs_estate_id_number")),
        sa.UniqueConstraint(
            "estate_id", "idempotency_key", name=op.f("uq_move_outs_estate_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("move_outs", schema=None) as batch_op:
        for column in ("due_at", "estate_id", "status", "unit_id", "visit_due_at"):
            batch_op.create_index(batch_op.f(f"ix_move_outs_{column}"), [column], unique=False)


def downgrade():
    for name in ("move_outs", "move_ins"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            for column in ("visit_due_at", "unit_id", "status", "estate_id", "due_at"):
                batch_op.drop_index(batch_op.f(f"ix_{name}_{column}"))
        op.drop_table(name)
