"""unit search: a stored sort key and indexes for room shorthand, names and phones

`units.sort_key` is the unit's zone, building and room number with every number zero-padded
("A区\\x1f00000001栋\\x1f00000001单元00000902"), so that ordering by it is ordering by zone,
building, entrance, floor and room as numbers; (estate_id, sort_key) serves the unit list in
that order. The portal keeps the key on every insert and renumbering (portal/core/units.py);
this migration fills it for the units that exist.

On PostgreSQL the key is compared bytewise (COLLATE "C"), the room number and the resident's
name get pattern indexes for prefix matches, the reversed room number one for a room at the
end of a number (101 in 2单元101), and a trigram index (pg_trgm) finds phone fragments without
reading every row.

Revision ID: c3a9e1f27b54
Revises: 4b8e2f6a91c3
Create Date: 2026-12-03 00:10:00
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "c3a9e1f27b54"
down_revision = "4b8e2f6a91c3"
branch_labels = None
depends_on = None

SORT_KEY_LENGTH = 200
_DIGITS = re.compile(r"(\d+)")
_PAD = 8

units = sa.table(
    "units",
    sa.column("id", sa.Integer),
    sa.column("building_id", sa.Integer),
    sa.column("number", sa.String),
    sa.column("sort_key", sa.String),
)
buildings = sa.table(
    "buildings", sa.column("id", sa.Integer), sa.column("zone_id", sa.Integer), sa.column("name")
)
zones = sa.table("zones", sa.column("id", sa.Integer), sa.column("name", sa.String))

PG_INDEXES = (
    # Phone fragments of residents: LIKE '%…%'.
    "CREATE INDEX IF NOT EXISTS ix_users_phone_trgm ON users USING gin (phone gin_trgm_ops)",
    # A room at the end of a number (101 in 2单元101): reverse(number) LIKE '101元单%'.
    "CREATE INDEX IF NOT EXISTS ix_units_estate_number_reversed "
    "ON units (estate_id, reverse(number) text_pattern_ops)",
    # The start of a resident's name and of a room number: LIKE '…%' whatever the collation.
    "CREATE INDEX IF NOT EXISTS ix_users_name_prefix ON users (name varchar_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS ix_units_estate_number_prefix "
    "ON units (estate_id, number varchar_pattern_ops)",
)


def _padded(text):
    return _DIGITS.sub(lambda m: m.group(1).lstrip("0").rjust(_PAD, "0")[-_PAD:], text or "")


def sort_key(zone, building, number):
    return "\x1f".join(_padded(part) for part in (zone, building, number))[:SORT_KEY_LENGTH]


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    column_type = sa.String(SORT_KEY_LENGTH, collation="C") if postgres else sa.String(200)
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sort_key", column_type, nullable=True))

    rows = bind.execute(
        sa.select(units.c.id, zones.c.name, buildings.c.name, units.c.number)
        .select_from(units)
        .join(buildings, buildings.c.id == units.c.building_id)
        .join(zones, zones.c.id == buildings.c.zone_id)
    ).all()
    update = (
        units.update()
        .where(units.c.id == sa.bindparam("unit_id"))
        .values(sort_key=sa.bindparam("key"))
    )
    batch = []
    for unit_id, zone, building, number in rows:
        batch.append({"unit_id": unit_id, "key": sort_key(zone, building, number)})
        if len(batch) == 5000:
            bind.execute(update, batch)
            batch = []
    if batch:
        bind.execute(update, batch)

    op.create_index("ix_units_estate_sort_key", "units", ["estate_id", "sort_key"])
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for statement in PG_INDEXES:
            op.execute(statement)
        op.execute("ANALYZE units")
        op.execute("ANALYZE users")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in (
            "ix_users_phone_trgm",
            "ix_units_estate_number_reversed",
            "ix_users_name_prefix",
            "ix_units_estate_number_prefix",
        ):
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_units_estate_sort_key", table_name="units")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("sort_key")
