"""every estate has the standard fee items

Since this revision an estate gets the standard fee items when it is created (fees.rules
listens for the new row); the "add the standard items" button of an empty items page is gone.
Estates made before, that have no fee item at all, get them here, with the same usual
rates from 2000-01-01 (so a rate the estate sets later takes over from its own date).
Estates that already have items keep exactly those. The items are frozen here as they were.

Revision ID: 5e2c8a4f0d17
Revises: 17fd0ed218f5
Create Date: 2026-12-07 00:10:00
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "5e2c8a4f0d17"
down_revision = "17fd0ed218f5"
branch_labels = None
depends_on = None

STANDARD_ITEMS = (
    ("property_residence", "物业管理费（住宅）", "per_m2_month", "residence", 250),
    ("property_shop", "物业管理费（商铺）", "per_m2_month", "shop", 500),
    ("parking", "车位管理费", "fixed_month", "parking", 8000),
    ("storage", "储藏间管理费", "per_m2_month", "storage", 100),
    ("debris", "装修垃圾清运费", "one_off", None, 30000),
    ("renovation_deposit", "装修押金", "one_off", None, 200000),
    ("paid_service", "有偿服务费", "per_use", None, 0),
)
RATES_FROM = date(2000, 1, 1)

estates = sa.table("estates", sa.column("id", sa.Integer))
fee_items = sa.table(
    "fee_items",
    sa.column("id", sa.Integer),
    sa.column("estate_id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("basis", sa.String),
    sa.column("unit_kind", sa.String),
    sa.column("active", sa.Boolean),
    sa.column("created_at", sa.DateTime),
)
fee_rates = sa.table(
    "fee_rates",
    sa.column("fee_item_id", sa.Integer),
    sa.column("occupancy", sa.String),
    sa.column("effective_on", sa.Date),
    sa.column("rate_fen", sa.BigInteger),
    sa.column("created_at", sa.DateTime),
)


def upgrade():
    connection = op.get_bind()
    bare = connection.scalars(
        sa.select(estates.c.id)
        .where(~sa.select(fee_items.c.id).where(fee_items.c.estate_id == estates.c.id).exists())
        .order_by(estates.c.id)
    ).all()
    now = datetime.now(UTC).replace(tzinfo=None)
    for estate_id in bare:
        for code, name, basis, kind, rate in STANDARD_ITEMS:
            connection.execute(
                fee_items.insert().values(
                    estate_id=estate_id,
                    code=code,
                    name=name,
                    basis=basis,
                    unit_kind=kind,
                    active=True,
                    created_at=now,
                )
            )
            item_id = connection.scalar(
                sa.select(fee_items.c.id).where(
                    fee_items.c.estate_id == estate_id, fee_items.c.code == code
                )
            )
            connection.execute(
                fee_rates.insert().values(
                    fee_item_id=item_id,
                    occupancy=None,
                    effective_on=RATES_FROM,
                    rate_fen=rate,
                    created_at=now,
                )
            )


def downgrade():
    # The items may have bills by now; they stay (a data fill is not undone).
    pass
