"""The arrears list (欠费账龄): what each unit owes on a day, by age of the debt.

Two queries (totals, then one page) whatever the number of bills; what is paid on a bill and
whether it is open are the ledger's rules.
"""

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from portal.blueprints.fees.ledger import credit_fen, owes, paid_by
from portal.blueprints.fees.models import Bill
from portal.core.access import unit_in_scope
from portal.core.errors import ServiceError
from portal.core.places import Building, Unit, Zone
from portal.core.units import natural_key
from portal.extensions import db

from .fees import units_in

# Arrears age buckets, by days past the due date on the day of the list.
BUCKETS = ("not_due", "days_0_30", "days_31_90", "days_91_180", "over_180")
BUCKET_LABELS = {
    "not_due": _l("Not yet due"),
    "days_0_30": _l("0–30 days"),
    "days_31_90": _l("31–90 days"),
    "days_91_180": _l("91–180 days"),
    "over_180": _l("Over 180 days"),
}


def check_place(estate_id: int, zone_id: int | None = None, building_id: int | None = None):
    """ServiceError 404 unless the zone and building are the estate's (one query, if any)."""
    if zone_id is None and building_id is None:
        return
    stmt = select(func.count()).select_from(Zone).where(Zone.estate_id == estate_id)
    if building_id is not None:
        stmt = stmt.join(Building, Building.zone_id == Zone.id).where(Building.id == building_id)
    if zone_id is not None:
        stmt = stmt.where(Zone.id == zone_id)
    if not db.session.scalar(stmt):
        raise ServiceError(_l("There is no such place."), fields={"zone": "unknown"}, status=404)


def arrears(
    estate_id: int,
    on: date,
    zone_id: int | None = None,
    building_id: int | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    actor=None,
) -> dict:
    """The units that owe money on `on`, oldest debt first, one page of them.

    What a unit owes: its live bills' amounts less their allocations applied by `on`,
    split by how many days past `due_on` each bill is on `on` (not yet due, 0–30, 31–90,
    91–180, over 180). `oldest_due` is the earliest due date of its open bills; `credit`
    is what it paid by `on` that is not allocated by then. Answers {"items", "total",
    "totals"}: items are dicts of unit_id, unit, zone, building, number, owed, the five
    buckets, oldest_due and credit (fen); totals sums owed and the buckets over all pages.
    Two queries. Zone and building are not checked here (see `check_place`). A zone
    butler (`actor`, by default the signed-in person) gets the units of their zones only.
    """
    owed = _owed_per_unit(estate_id, on, zone_id, building_id, actor)
    money = ("owed", *BUCKETS)
    totals_row = db.session.execute(
        select(func.count().label("total"), *(func.sum(owed.c[n]).label(n) for n in money))
    ).one()
    page = (
        select(owed)
        .order_by(owed.c.oldest_due, owed.c.unit_id)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    rows = db.session.execute(
        select(
            page,
            Unit.number,
            Building.name.label("building"),
            Zone.name.label("zone"),
            credit_fen(page.c.unit_id, on).label("credit"),
        )
        .join(Unit, Unit.id == page.c.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .order_by(page.c.oldest_due, page.c.unit_id)
    ).all()
    items = [
        {
            "unit_id": r.unit_id,
            "unit": f"{r.zone} {r.building} {r.number}",
            "zone": r.zone,
            "building": r.building,
            "number": r.number,
            **{name: int(getattr(r, name)) for name in money},
            "oldest_due": r.oldest_due,
            "credit": int(r.credit),
        }
        for r in rows
    ]
    return {
        "items": items,
        "total": int(totals_row.total),
        "totals": {name: int(getattr(totals_row, name) or 0) for name in money},
    }


def _owed_per_unit(estate_id, on, zone_id, building_id, actor=None):
    """A CTE: per unit with open bills on `on`, what it owes in total and per age bucket."""
    per_bill = paid_by(
        on,
        Bill.estate_id == estate_id,
        *units_in(zone_id, building_id),
        unit_in_scope(actor, Bill.unit_id),
        columns=(Bill.unit_id, Bill.due_on, Bill.amount_fen),
    ).subquery("per_bill")
    p = per_bill.c
    open_bills = (
        select(p.unit_id, p.due_on, (p.amount_fen - p.paid).label("left"))
        .where(owes(p.amount_fen, p.paid))
        .subquery("open_bills")
    )
    b = open_bills.c
    # Date comparisons rather than date arithmetic: alike on SQLite and PostgreSQL.
    edges = [on - timedelta(days=d) for d in (30, 90, 180)]
    ages = {
        "not_due": b.due_on > on,
        "days_0_30": and_(b.due_on <= on, b.due_on >= edges[0]),
        "days_31_90": and_(b.due_on < edges[0], b.due_on >= edges[1]),
        "days_91_180": and_(b.due_on < edges[1], b.due_on >= edges[2]),
        "over_180": b.due_on < edges[2],
    }
    return (
        select(
            b.unit_id,
            func.sum(b.left).label("owed"),
            *(func.sum(case((cond, b.left), else_=0)).label(name) for name, cond in ages.items()),
            func.min(b.due_on).label("oldest_due"),
        )
        .group_by(b.unit_id)
        .cte("owed")
    )


def buildings_of(zone_id: int | None) -> list[Building]:
    """A zone's buildings in natural order (none without a zone)."""
    if not zone_id:
        return []
    found = db.session.scalars(select(Building).where(Building.zone_id == zone_id)).all()
    return sorted(found, key=lambda b: natural_key(b.name))
