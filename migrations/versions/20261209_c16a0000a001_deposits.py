"""deposits held for a unit and their refunds

Revision ID: c16a0000a001
Revises: b15a0000a003
Create Date: 2026-12-09 00:01:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "c16a0000a001"
down_revision = "b15a0000a003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "deposit_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=80), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("deducted_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("refunded_on", sa.Date(), nullable=False),
        sa.Column("deduction_payment_id", sa.Integer(), nullable=True),
        sa.Column("cashier_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "deducted_fen >= 0", name=op.f("ck_deposit_refunds_deducted_not_negative")
        ),
        sa.CheckConstraint(
            "refunded_fen >= 0", name=op.f("ck_deposit_refunds_refunded_not_negative")
        ),
        sa.CheckConstraint(
            "paid_fen = deducted_fen + refunded_fen",
            name=op.f("ck_deposit_refunds_refund_adds_up"),
        ),
        sa.ForeignKeyConstraint(
            ["cashier_id"], ["users.id"], name=op.f("fk_deposit_refunds_cashier_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["deduction_payment_id"],
            ["payments.id"],
            name=op.f("fk_deposit_refunds_deduction_payment_id_payments"),
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_deposit_refunds_estate_id_estates")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_deposit_refunds_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_refunds")),
        sa.UniqueConstraint(
            "estate_id", "number", name=op.f("uq_deposit_refunds_estate_id_number")
        ),
        sa.UniqueConstraint(
            "unit_id", "source_key", name=op.f("uq_deposit_refunds_unit_id_source_key")
        ),
    )
    with op.batch_alter_table("deposit_refunds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deposit_refunds_estate_day", ["estate_id", "refunded_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deposit_refunds_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "deposit_deductions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("evidence_file_id", sa.Integer(), nullable=True),
        sa.Column("bill_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_deposit_deductions_deduction_positive")),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_deposit_deductions_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["evidence_file_id"],
            ["uploads.id"],
            name=op.f("fk_deposit_deductions_evidence_file_id_uploads"),
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["deposit_refunds.id"],
            name=op.f("fk_deposit_deductions_refund_id_deposit_refunds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_deductions")),
    )
    with op.batch_alter_table("deposit_deductions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deposit_deductions_refund_id"), ["refund_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("deposit_deductions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deposit_deductions_refund_id"))
    op.drop_table("deposit_deductions")
    with op.batch_alter_table("deposit_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deposit_refunds_unit_id"))
        batch_op.drop_index("ix_deposit_refunds_estate_day")
    op.drop_table("deposit_refunds")
