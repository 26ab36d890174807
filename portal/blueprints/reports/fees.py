"""The fee-collection report (收费率统计, contracts §6).

Every figure comes from aggregate queries (GROUP BY in the database, DESIGN §6); Python
only adds up grouped rows and divides them into rates. The report is one query (a CTE
grouped two ways with UNION ALL), whatever the number of bills. What is paid on a bill and
whether it is open are the ledger's rules. Money is integer fen here; the API and pages
format it.
"""

import io
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, case, cast, func, literal_column, null, select, union_all

from portal.blueprints.fees.ledger import owes, paid_by
from portal.blueprints.fees.models import Bill
from portal.blueprints.reports.periods import check_period
from portal.blueprints.reports.service import rate
from portal.core import figures
from portal.core.errors import ServiceError
from portal.core.money import to_decimal
from portal.core.places import Building, Occupancy, Unit, Zone
from portal.core.units import natural_key
from portal.extensions import db

FIGURES = (
    "billed_households",
    "paid_households",
    "collection_rate",
    "receivable",
    "received",
    "arrears",
    "discounts",
)
MONEY = ("receivable", "received", "arrears", "discounts")
_SUMS = ("billed_households", "paid_households", "receivable", "received", "discounts")


def with_rates(sums: dict) -> dict:
    """F of contracts §6 from the summed counts and fen."""
    return {
        "billed_households": sums["billed_households"],
        "paid_households": sums["paid_households"],
        "collection_rate": rate(sums["paid_households"], sums["billed_households"]),
        "receivable": sums["receivable"],
        "received": sums["received"],
        "arrears": sums["receivable"] - sums["received"],
        "discounts": sums["discounts"],
    }


def units_in(zone_id: int | None = None, building_id: int | None = None):
    """SQL conditions limiting bills to the units of a zone and/or a building."""
    conditions = []
    if building_id is not None:
        conditions.append(Bill.unit_id.in_(select(Unit.id).where(Unit.building_id == building_id)))
    if zone_id is not None:
        conditions.append(
            Bill.unit_id.in_(
                select(Unit.id)
                .join(Building, Building.id == Unit.building_id)
                .where(Building.zone_id == zone_id)
            )
        )
    return conditions


def fee_figures(estate_id: int, start: date, end: date, zone_id: int | None = None) -> dict:
    """The fee-collection report (see `_compute`), computed once per estate, period and
    zone until a bill, payment or allocation of the estate changes (core/figures.py)."""
    check_period(start, end)  # the same 400s as every report: order and length
    result = figures.cached(
        figures.FEES,
        estate_id,
        ("fee_figures", start, end, zone_id),
        lambda: _compute(estate_id, start, end, zone_id),
    )
    known = {o.value: o for o in Occupancy}
    for row in result["by_occupancy"]:  # labels in the reader's language
        code = row["occupancy"]
        row["label"] = str(known[code].label) if code in known else code
    return result


def _compute(estate_id: int, start: date, end: date, zone_id: int | None = None) -> dict:
    """The fee-collection report of one estate (optionally one zone of it).

    Which bills: the estate's live bills (not withdrawn) with `due_on` in [start, end].
    - receivable: Σ amount_fen (what is owed after discounts); discounts: Σ discount_fen;
    - received: Σ of those bills' allocations with `applied_on` <= end (a payment, or an
      undo, made after `end` does not count); arrears = receivable - received;
    - a household is a unit with at least one such bill; it is paid when each of those
      bills has received its whole amount by `end`; collection_rate = paid / billed
      households (0..1, four decimals, None when nothing is billed).

    `by_occupancy` lists every occupancy category in enum order, grouped by the category
    each bill was charged under: a unit whose category changed within the period counts
    as a household in each category it was billed under (paid there when those bills
    are), so only there can household counts add up to more than the totals. `by_zone`
    lists every zone of the estate (only `zone_id` when given); totals are the sums of the
    zone rows. One query; a zone of another estate raises ServiceError 404.
    """
    # One row per live bill with what was allocated to it by `end`.
    per_bill = paid_by(
        end,
        Bill.estate_id == estate_id,
        Bill.due_on >= start,
        Bill.due_on <= end,
        *units_in(zone_id),
        columns=(Bill.unit_id, Bill.occupancy, Bill.amount_fen, Bill.discount_fen),
    ).subquery("per_bill")
    b = per_bill.c
    # One row per household and category: the bills it was charged under that category.
    per_unit_occupancy = (
        select(
            b.unit_id,
            b.occupancy,
            func.sum(b.amount_fen).label("receivable"),
            func.sum(b.paid).label("received"),
            func.sum(b.discount_fen).label("discounts"),
            func.sum(case((owes(b.amount_fen, b.paid), 1), else_=0)).label("open_bills"),
        )
        .group_by(b.unit_id, b.occupancy)
        .cte("per_unit_occupancy")
    )
    rows = db.session.execute(
        union_all(
            _by_occupancy(per_unit_occupancy),
            _by_zone(per_unit_occupancy, estate_id, zone_id),
        )
    ).all()
    occupancy_sums, zone_sums = {}, []
    for row in rows:
        sums = {name: int(getattr(row, name) or 0) for name in _SUMS}
        if row.dimension == "occupancy":
            occupancy_sums[row.occupancy] = sums
        else:
            zone_sums.append((row.zone, sums))
    if zone_id is not None and not zone_sums:
        raise ServiceError(_l("There is no such zone."), fields={"zone": "unknown"}, status=404)
    zero = dict.fromkeys(_SUMS, 0)
    known = [o.value for o in Occupancy]
    codes = known + sorted(set(occupancy_sums) - set(known))
    zone_sums.sort(key=lambda item: natural_key(item[0]))
    totals = {name: sum(sums[name] for _zone, sums in zone_sums) for name in _SUMS}
    return {
        "totals": with_rates(totals),
        "by_occupancy": [
            {
                "occupancy": code,
                "label": str(Occupancy(code).label) if code in known else code,
                **with_rates(occupancy_sums.get(code, zero)),
            }
            for code in codes
        ],
        "by_zone": [{"zone": name, **with_rates(sums)} for name, sums in zone_sums],
    }


def _household_sums(table):
    """Counts and sums over rows of households (one per unit, or per unit and category)."""
    paid_household = case((table.c.open_bills == 0, 1), else_=0)
    return [
        func.count().label("billed_households"),
        func.sum(paid_household).label("paid_households"),
        func.sum(table.c.receivable).label("receivable"),
        func.sum(table.c.received).label("received"),
        func.sum(table.c.discounts).label("discounts"),
    ]


def _by_occupancy(per_unit_occupancy):
    c = per_unit_occupancy.c
    return select(
        literal_column("'occupancy'", String).label("dimension"),
        c.occupancy.label("occupancy"),
        cast(null(), String).label("zone"),
        *_household_sums(per_unit_occupancy),
    ).group_by(c.occupancy)


def _by_zone(per_unit_occupancy, estate_id, zone_id):
    """Every zone of the estate (or the one asked for), with its households' figures."""
    c = per_unit_occupancy.c
    households = (
        select(
            c.unit_id,
            func.sum(c.receivable).label("receivable"),
            func.sum(c.received).label("received"),
            func.sum(c.discounts).label("discounts"),
            func.sum(c.open_bills).label("open_bills"),
        )
        .group_by(c.unit_id)
        .subquery("households")
    )
    per_zone = (
        select(Building.zone_id.label("zone_id"), *_household_sums(households))
        .select_from(households)
        .join(Unit, Unit.id == households.c.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .group_by(Building.zone_id)
        .subquery("per_zone")
    )
    stmt = (
        select(
            literal_column("'zone'", String).label("dimension"),
            cast(null(), String).label("occupancy"),
            Zone.name.label("zone"),
            *(func.coalesce(per_zone.c[name], 0).label(name) for name in _SUMS),
        )
        .select_from(Zone)
        .outerjoin(per_zone, per_zone.c.zone_id == Zone.id)
        .where(Zone.estate_id == estate_id)
    )
    if zone_id is not None:
        stmt = stmt.where(Zone.id == zone_id)
    return stmt


def zones_of(estate_id: int) -> list[Zone]:
    """The estate's zones in natural order (A区, B区 … 10区)."""
    zones = db.session.scalars(select(Zone).where(Zone.estate_id == estate_id)).all()
    return sorted(zones, key=lambda z: natural_key(z.name))


def headings() -> list[str]:
    """The column headings of F, in the request's language (page, PDF and .xlsx alike)."""
    return [
        _("Households billed"),
        _("Households paid"),
        _("Collection rate"),
        _("Receivable (yuan)"),
        _("Received (yuan)"),
        _("Arrears (yuan)"),
        _("Discounts (yuan)"),
    ]


def workbook(figures: dict, *, estate: str, start: date, end: date, zone: str = "") -> bytes:
    """The report as an .xlsx: totals, then by category and by zone; money in yuan."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Fee collection")
    sheet.append([_("Fee collection report"), estate, zone])
    sheet.cell(1, 1).font = Font(bold=True)
    sheet.append([_("Bills due"), start, end])
    sheet.append([])
    sections = (
        (_("Total"), [(_("All households"), figures["totals"])]),
        (_("By category"), [(r["label"], r) for r in figures["by_occupancy"]]),
        (_("By zone"), [(r["zone"], r) for r in figures["by_zone"]]),
    )
    for title, rows in sections:
        sheet.append([title, *headings()])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        for label, row in rows:
            counts = [row["billed_households"], row["paid_households"], row["collection_rate"]]
            sheet.append([label, *counts, *(to_decimal(row[name]) for name in MONEY)])
            line = sheet.max_row
            sheet.cell(line, 4).number_format = "0.00%"
            for column in range(5, 9):
                sheet.cell(line, column).number_format = "0.00"
        sheet.append([])
    sheet.column_dimensions["A"].width = 28
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
