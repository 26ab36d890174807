"""Home page figures: each is one aggregate query whatever the estate's size."""

from sqlalchemy import case, func, select

from portal.core.access import estate_ids_for, visible
from portal.core.people import Residency, current_residency_clause
from portal.core.places import HANDED_OVER, OCCUPIED, Building, Estate, Occupancy, Unit, Zone
from portal.extensions import db


def estate_summary(actor):
    """Units, handover and occupancy per estate the actor sees (domain.md's two rates)."""
    handed = case((Unit.occupancy.in_([o.value for o in HANDED_OVER]), 1), else_=0)
    occupied = case((Unit.occupancy.in_([o.value for o in OCCUPIED]), 1), else_=0)
    rows = db.session.execute(
        select(
            Estate.id,
            Estate.name,
            func.count(Unit.id),
            func.coalesce(func.sum(handed), 0),
            func.coalesce(func.sum(occupied), 0),
        )
        .join(Unit, Unit.estate_id == Estate.id, isouter=True)
        .where(estate_ids_for(actor))
        .group_by(Estate.id, Estate.name)
        .order_by(Estate.name)
    ).all()
    return [
        {
            "estate_id": r[0],
            "estate": r[1],
            "units": r[2],
            "handed_over": r[3],
            "occupied": r[4],
            "handover_rate": r[3] / r[2] if r[2] else None,
            "occupancy_rate": r[4] / r[3] if r[3] else None,
        }
        for r in rows
    ]


def occupancy_breakdown(actor):
    """Units per occupancy category the actor sees, in the categories' order."""
    counts = dict(
        db.session.execute(
            select(Unit.occupancy, func.count(Unit.id))
            .where(visible(Unit, actor))
            .group_by(Unit.occupancy)
        ).all()
    )
    return [(o, counts.get(o.value, 0)) for o in Occupancy]


def my_units(actor):
    """The resident's current units with their place and relation, in one query."""
    rows = db.session.execute(
        select(Unit, Residency.relation, Building.name, Zone.name)
        .join(Residency, Residency.unit_id == Unit.id)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(Residency.user_id == actor.id, current_residency_clause())
        .order_by(Unit.id)
    ).all()
    return [
        {"unit": unit, "relation": relation, "building": building, "zone": zone}
        for unit, relation, building, zone in rows
    ]
