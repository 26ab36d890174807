"""Home page figures: each is one aggregate query whatever the estate's size."""

import functools

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Integer, bindparam, func, literal, select, union_all

from portal.core import clock
from portal.core.access import estate_ids_for
from portal.core.people import Residency, current_residency_clause
from portal.core.places import HANDED_OVER, OCCUPIED, Building, Estate, Occupancy, Unit, Zone
from portal.extensions import db


def estate_figures(actor):
    """The staff home's figures from one grouped query: per estate the actor sees, its
    units, handover and occupancy (domain.md's two rates); and the units per occupancy
    category across those estates, in the categories' order."""
    rows = db.session.execute(
        select(Estate.id, Estate.name, Unit.occupancy, func.count(Unit.id))
        .join(Unit, Unit.estate_id == Estate.id, isouter=True)
        .where(estate_ids_for(actor))
        .group_by(Estate.id, Estate.name, Unit.occupancy)
        .order_by(Estate.name, Estate.id)
    ).all()
    handed = {o.value for o in HANDED_OVER}
    occupied = {o.value for o in OCCUPIED}
    estates: dict[int, dict] = {}
    by_category: dict[str, int] = {}
    for estate_id, name, occupancy, count in rows:
        entry = estates.setdefault(
            estate_id,
            {"estate_id": estate_id, "estate": name, "units": 0, "handed_over": 0, "occupied": 0},
        )
        if occupancy is None:  # an estate without units
            continue
        entry["units"] += count
        entry["handed_over"] += count if occupancy in handed else 0
        entry["occupied"] += count if occupancy in occupied else 0
        by_category[occupancy] = by_category.get(occupancy, 0) + count
    summary = []
    for entry in estates.values():
        units, handed_over = entry["units"], entry["handed_over"]
        entry["handover_rate"] = handed_over / units if units else None
        entry["occupancy_rate"] = entry["occupied"] / handed_over if handed_over else None
        summary.append(entry)
    return summary, [(o, by_category.get(o.value, 0)) for o in Occupancy]


def my_units(actor):
    """The resident's current units with their place, relation and balance, in one query."""
    from portal.blueprints.fees.ledger import Balance

    rows = db.session.execute(
        _my_units_statement(), {"user": actor.id, "today": clock.local_today()}
    ).all()
    return [
        {
            "unit": unit,
            "relation": relation,
            "building": building,
            "zone": zone,
            "balance": Balance(int(owed), int(credit)),
            "past_due_fen": int(past_due),
        }
        for unit, relation, building, zone, owed, credit, past_due in rows
    ]


@functools.cache
def _my_units_statement():
    """my_units' statement, built once (the person and the day are bind parameters)."""
    from portal.blueprints.fees.ledger import balance_columns, past_due_column

    today = bindparam("today", type_=Date)
    return (
        select(
            Unit,
            Residency.relation,
            Building.name,
            Zone.name,
            *balance_columns(),
            past_due_column(today),
        )
        .join(Residency, Residency.unit_id == Unit.id)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(
            Residency.user_id == bindparam("user"),
            current_residency_clause(today),
        )
        .order_by(Unit.id)
    )


# What each request is, on the resident home's card (a complaint's kind, or a repair).
REQUEST_TAGS = {
    "repair": _l("Repair"),
    "complaint": _l("Complaint"),
    "inquiry": _l("Inquiry"),
    "suggestion": _l("Suggestion"),
}


def latest_requests(actor, n: int = 4) -> list[dict]:
    """The resident home's card: the newest repairs and complaints of their current units,
    newest first, each with its kind, state and due time, from one statement."""
    from portal.blueprints.complaints.models import STATE_LABELS as COMPLAINT_STATES
    from portal.blueprints.complaints.models import Category as ComplaintCategory
    from portal.blueprints.repairs.models import OPEN_STATES
    from portal.blueprints.repairs.models import STATE_LABELS as REPAIR_STATES
    from portal.blueprints.repairs.models import Category as RepairCategory

    rows = db.session.execute(
        _latest_requests_statement(), {"units": actor.current_unit_ids, "n": n}
    ).all()
    now = clock.now()
    requests = []
    for kind, sort, ticket_id, number, category, status, created_at, due_at in rows:
        repair = kind == "repair"
        requests.append(
            {
                "kind": kind,
                "tag": REQUEST_TAGS.get(sort, sort),
                "id": ticket_id,
                "number": number,
                "what": (RepairCategory if repair else ComplaintCategory)(category).label,
                "state": (REPAIR_STATES if repair else COMPLAINT_STATES).get(status, status),
                "overdue": repair and status in OPEN_STATES and due_at is not None and due_at < now,
                "created_at": created_at,
            }
        )
    return requests


@functools.cache
def _latest_requests_statement():
    """latest_requests' statement, built once (the units and the count are parameters)."""
    from portal.blueprints.complaints.models import Complaint
    from portal.blueprints.repairs.models import Repair

    units = bindparam("units", expanding=True)
    parts = [
        select(
            literal(kind).label("kind"),
            sort.label("sort"),
            model.id.label("id"),
            model.number.label("number"),
            what.label("what"),
            model.status.label("status"),
            model.created_at.label("created_at"),
            model.due_at.label("due_at"),
        ).where(model.unit_id.in_(units))
        for kind, model, sort, what in (
            ("repair", Repair, literal("repair"), Repair.category),
            ("complaint", Complaint, Complaint.kind, Complaint.category),
        )
    ]
    union = union_all(*parts).subquery()
    return (
        select(union)
        .order_by(union.c.created_at.desc(), union.c.kind, union.c.id.desc())
        .limit(bindparam("n", type_=Integer))
    )
