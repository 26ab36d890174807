"""cards, meter readings and keys in custody

The access and parking cards issued to a unit (a number is unique per estate among live
cards: a partial unique index, on PostgreSQL and SQLite alike), its meter readings (a
decimal of two places kept as hundredths) and the key sets the centre keeps with each
movement of them.

Revision ID: b15a0000a002
Revises: b15a0000a001
Create Date: 2026-12-08 00:02:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b15a0000a002"
down_revision = "b15a0000a001"
branch_labels = None
depends_on = None

LIVE_CARD = sa.text("status = 'issued'")


def _fk(table, column, target):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade():
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("lost_on", sa.Date(), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.Column("source_kind", sa.String(length=30), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("cards", "estate_id", "estates"),
        _fk("cards", "unit_id", "units"),
        _fk("cards", "replaced_by_id", "cards"),
        _fk("cards", "issued_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
    )
    op.create_index("ix_cards_unit_id", "cards", ["unit_id"])
    op.create_index("ix_cards_estate_number", "cards", ["estate_id", "number"])
    op.create_index(
        "uq_cards_estate_number_live",
        "cards",
        ["estate_id", "number"],
        unique=True,
        sqlite_where=LIVE_CARD,
        postgresql_where=LIVE_CARD,
    )

    op.create_table(
        "meter_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("meter", sa.String(length=12), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("read_on", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("source_kind", sa.String(length=30), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("meter_readings", "estate_id", "estates"),
        _fk("meter_readings", "unit_id", "units"),
        _fk("meter_readings", "recorded_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_readings")),
    )
    op.create_index("ix_meter_readings_estate_id", "meter_readings", ["estate_id"])
    op.create_index(
        "ix_meter_readings_unit_meter", "meter_readings", ["unit_id", "meter", "read_on", "id"]
    )

    op.create_table(
        "key_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("held_since", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("left_by_name", sa.String(length=100), nullable=True),
        sa.Column("left_by_phone", sa.String(length=20), nullable=True),
        sa.Column("lent_to", sa.String(length=100), nullable=True),
        sa.Column("due_back_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("key_sets", "estate_id", "estates"),
        _fk("key_sets", "unit_id", "units"),
        _fk("key_sets", "created_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_sets")),
    )
    op.create_index("ix_key_sets_unit_id", "key_sets", ["unit_id"])
    op.create_index("ix_key_sets_estate_status", "key_sets", ["estate_id", "status"])

    op.create_table(
        "key_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_set_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=15), nullable=False),
        sa.Column("person_name", sa.String(length=100), nullable=True),
        sa.Column("person_phone", sa.String(length=20), nullable=True),
        sa.Column("person_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("due_back_at", sa.DateTime(), nullable=True),
        sa.Column("back_at", sa.DateTime(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        _fk("key_movements", "key_set_id", "key_sets"),
        _fk("key_movements", "person_user_id", "users"),
        _fk("key_movements", "actor_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_movements")),
    )
    op.create_index("ix_key_movements_key_set_id", "key_movements", ["key_set_id"])


def downgrade():
    op.drop_index("ix_key_movements_key_set_id", table_name="key_movements")
    op.drop_table("key_movements")
    op.drop_index("ix_key_sets_estate_status", table_name="key_sets")
    op.drop_index("ix_key_sets_unit_id", table_name="key_sets")
    op.drop_table("key_sets")
    op.drop_index("ix_meter_readings_unit_meter", table_name="meter_readings")
    op.drop_index("ix_meter_readings_estate_id", table_name="meter_readings")
    op.drop_table("meter_readings")
    op.drop_index("uq_cards_estate_number_live", table_name="cards")
    op.drop_index("ix_cards_estate_number", table_name="cards")
    op.drop_index("ix_cards_unit_id", table_name="cards")
    op.drop_table("cards")
