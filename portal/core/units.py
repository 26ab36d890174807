"""Units: finding them, creating the places they stand in, and recording occupancy."""

import re
from datetime import date

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload

from portal.core import audit
from portal.core.access import visible
from portal.core.people import Residency, User, current_residency_clause, relation_order
from portal.core.places import Building, Occupancy, Unit, UnitOccupancy, Zone
from portal.extensions import db

MAX_QUERY = 100
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str):
    """Sort key that puts 2栋 before 10栋 (numbers compared as numbers)."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(text or "")]


def search_units(actor, *, q=None, zone_id=None, building_id=None):
    """A SELECT of the units an actor may see matching room number, name or phone.

    Every word of `q` must match the zone, the building, the room number, or the name or
    phone of a current resident.
    """
    stmt = (
        select(Unit)
        .join(Unit.building)
        .join(Building.zone)
        .where(visible(Unit, actor))
        .options(joinedload(Unit.building).joinedload(Building.zone))
        .order_by(
            Zone.name,
            func.length(Building.name),
            Building.name,
            func.length(Unit.number),
            Unit.number,
        )
    )
    if zone_id:
        stmt = stmt.where(Building.zone_id == zone_id)
    if building_id:
        stmt = stmt.where(Unit.building_id == building_id)
    for word in (q or "").strip()[:MAX_QUERY].split():
        like = f"%{_escape_like(word)}%"
        resident_match = exists(
            select(Residency.id)
            .join(User, User.id == Residency.user_id)
            .where(
                Residency.unit_id == Unit.id,
                current_residency_clause(),
                or_(User.name.ilike(like, escape="\\"), User.phone.like(like, escape="\\")),
            )
        )
        stmt = stmt.where(
            or_(
                Unit.number.ilike(like, escape="\\"),
                Building.name.ilike(like, escape="\\"),
                Zone.name.ilike(like, escape="\\"),
                resident_match,
            )
        )
    return stmt


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def residents_of(unit_ids, *, current_only=True):
    """Residencies (with their people) of some units, in one query."""
    stmt = (
        select(Residency)
        .where(Residency.unit_id.in_(unit_ids))
        .options(joinedload(Residency.user))
        .order_by(Residency.unit_id, relation_order(), Residency.start_on)
    )
    if current_only:
        stmt = stmt.where(current_residency_clause())
    return db.session.scalars(stmt).all()


def set_occupancy(unit: Unit, occupancy: Occupancy, effective_on: date, *, actor=None):
    """Change a unit's occupancy category from a date on, keeping the history."""
    occupancy = Occupancy(occupancy)
    if unit.occupancy == occupancy:
        return False
    before = unit.occupancy
    unit.occupancy = occupancy
    unit.occupancy_since = effective_on
    db.session.add(
        UnitOccupancy(
            unit=unit,
            occupancy=occupancy,
            effective_on=effective_on,
            recorded_by_id=actor.id if actor else None,
        )
    )
    db.session.flush()
    audit.record(
        "unit.occupancy",
        unit,
        actor=actor,
        before={"occupancy": before},
        after={"occupancy": occupancy.value, "effective_on": effective_on},
    )
    return True


def labels_for(unit_ids) -> dict[int, str]:
    """ "Zone building room" for some units (ids or a SELECT of ids), in one query."""
    rows = db.session.execute(
        select(Unit.id, Zone.name, Building.name, Unit.number)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(Unit.id.in_(unit_ids))
    )
    ordered = sorted(rows, key=lambda r: (natural_key(r[1]), natural_key(r[2]), natural_key(r[3])))
    return {unit_id: f"{zone} {building} {number}" for unit_id, zone, building, number in ordered}
