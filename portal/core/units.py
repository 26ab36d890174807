"""Units: finding them, creating the places they stand in, and recording occupancy."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Integer, Select, any_, bindparam, event, func, inspect, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload, object_session
from sqlalchemy.orm.util import identity_key

from portal.core import audit
from portal.core.access import visible
from portal.core.people import (
    RELATION_LABELS,
    Residency,
    User,
    current_residency_clause,
    relation_order,
)
from portal.core.places import (
    OCCUPANCY_LABELS,
    UNIT_KIND_LABELS,
    Building,
    Occupancy,
    Unit,
    UnitOccupancy,
    Zone,
)
from portal.extensions import db

MAX_QUERY = 100
_DIGITS = re.compile(r"(\d+)")
# Numbers in a sort key are padded to this many digits, so that text order is number order.
_PAD = 8
SORT_KEY_LENGTH = 200
# A run of digits this long or longer is part of a phone number, not a room.
PHONE_DIGITS = 5


def natural_key(text: str):
    """Sort key that puts 2栋 before 10栋 (numbers compared as numbers)."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(text or "")]


def _padded(text: str) -> str:
    return _DIGITS.sub(lambda m: m.group(1).lstrip("0").rjust(_PAD, "0")[-_PAD:], text or "")


def sort_key(zone: str, building: str, number: str) -> str:
    """The stored order of a unit: zone, building, entrance, floor and room, numbers as numbers.

    "A区 3栋 1单元902" becomes "A区\\x1f00000003栋\\x1f00000001单元00000902", so 1单元902 comes
    before 1单元1001, which comes before 2单元101. Byte order (PostgreSQL's "C" collation,
    SQLite's BINARY) keeps it the same on both databases.
    """
    return "\x1f".join(_padded(part) for part in (zone, building, number))[:SORT_KEY_LENGTH]


# units.sort_key (migration c3a9e1f27b54): kept by the listeners below on every insert and
# every change of a unit's number or building.


def _place_names(session, connection, building_id):
    building = session.identity_map.get(identity_key(Building, building_id)) if session else None
    if building is not None and "zone" in building.__dict__ and building.zone is not None:
        return building.zone.name, building.name
    return connection.execute(
        select(Zone.name, Building.name)
        .join(Building, Building.zone_id == Zone.id)
        .where(Building.id == building_id)
    ).one()


def _fill_sort_key(connection, unit):
    building = unit.__dict__.get("building")
    if building is not None and building.id == unit.building_id and building.zone is not None:
        zone_name, building_name = building.zone.name, building.name
    else:
        zone_name, building_name = _place_names(object_session(unit), connection, unit.building_id)
    unit.sort_key = sort_key(zone_name, building_name, unit.number)


def fill_missing_sort_keys(batch: int = 5000) -> int:
    """Give every unit without a sort key its key (units written by set-based SQL, which
    the listeners below do not see: bulk loads, bench data). Returns how many."""
    rows = db.session.execute(
        select(Unit.id, Zone.name, Building.name, Unit.number)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(Unit.sort_key.is_(None))
    ).all()
    table = Unit.__table__
    update = (
        table.update().where(table.c.id == bindparam("unit_id")).values(sort_key=bindparam("key"))
    )
    for start in range(0, len(rows), batch):
        db.session.execute(
            update,
            [
                {"unit_id": unit_id, "key": sort_key(zone, building, number)}
                for unit_id, zone, building, number in rows[start : start + batch]
            ],
        )
    return len(rows)


@event.listens_for(Unit, "before_insert")
def _sort_key_on_insert(mapper, connection, unit):
    _fill_sort_key(connection, unit)


@event.listens_for(Unit, "before_update")
def _sort_key_on_update(mapper, connection, unit):
    state = inspect(unit)
    if state.attrs.number.history.has_changes() or state.attrs.building_id.history.has_changes():
        _fill_sort_key(connection, unit)


# ---- the search ------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-－—–_/#]+")
_BUILDING_SUFFIXES = ("栋", "幢", "号楼", "座", "楼", "")
_ROOM_SUFFIXES = ("", "室", "号")
# Shorthand with markers: [zone区][1栋][1单元][101(室|号)]; at least one of the last three.
_MARKED = re.compile(
    r"^(?:(?P<zone>[^\d\-]*?\S*?区))?"
    r"(?:(?P<building>[A-Za-z]?\d+)(?:栋|幢|号楼|座))?"
    r"(?:(?P<entrance>\d+)单元)?"
    r"(?:(?P<room>[A-Za-z]?\d+)(?:室|号)?)?$"
)
# Shorthand with dashes: [zone-]building-[entrance-]room, as in 1-1-101 or A区-1-101.
_DASHED = re.compile(
    r"^(?:(?P<zone>[^\d\-]\S*?区)-?)?"
    r"(?P<building>[A-Za-z]?\d+)(?:栋|幢|号楼|座)?-"
    r"(?:(?P<entrance>\d+)(?:单元)?-)?"
    r"(?P<room>\d+)(?:室|号)?$"
)


@dataclass(frozen=True)
class Place:
    """A room as a clerk types it: any of zone, building, entrance and room."""

    zone: str | None = None
    building: str | None = None
    entrance: str | None = None
    room: str | None = None


def parse_place(q: str) -> Place | None:
    """The structured parts of room shorthand (1栋1单元101, 1-1-101, 1-101, A区1栋101, 101).

    None when `q` is not room shorthand (a name, a phone fragment, free text).
    """
    text = (q or "").strip()
    if not text:
        return None
    compact = _SEPARATORS.sub("-", text).strip("-")
    if re.fullmatch(r"\d+", compact) and len(compact) >= PHONE_DIGITS:
        return None  # a phone number or a fragment of one
    for pattern, source in ((_DASHED, compact), (_MARKED, compact.replace("-", ""))):
        match = pattern.match(source)
        if match and any(match.group(g) for g in ("zone", "building", "entrance", "room")):
            return Place(**{k: _strip_zeros(k, v) for k, v in match.groupdict().items() if v})
    return None


def _strip_zeros(kind, value):
    if kind in ("building", "entrance") and value.isdigit():
        return str(int(value))
    return value


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix(column, word):
    return column.like(f"{_escape_like(word)}%", escape="\\")


def _contains(column, word):
    return column.like(f"%{_escape_like(word)}%", escape="\\")


def _place_conditions(place: Place, actor):
    """Equality and prefix conditions on units for room shorthand."""
    conditions = []
    if place.zone or place.building:
        buildings = select(Building.id).join(Zone, Zone.id == Building.zone_id)
        buildings = buildings.where(visible(Zone, actor))
        if place.zone:
            buildings = buildings.where(Zone.name == place.zone)
            # The zone leads the sort key: its units are one range of (estate_id, sort_key).
            conditions.append(_prefix(Unit.sort_key, _padded(place.zone) + "\x1f"))
        if place.building:
            buildings = buildings.where(
                Building.name.in_([place.building + s for s in _BUILDING_SUFFIXES])
            )
        conditions.append(Unit.building_id.in_(buildings))
    if place.entrance and place.room:
        conditions.append(
            Unit.number.in_([f"{place.entrance}单元{place.room}{s}" for s in _ROOM_SUFFIXES])
        )
    elif place.entrance:
        conditions.append(_prefix(Unit.number, f"{place.entrance}单元"))
    elif place.room:
        conditions.append(
            or_(
                Unit.number.in_([place.room + s for s in _ROOM_SUFFIXES]),
                _ends_with(f"单元{place.room}"),
            )
        )
    return conditions


def _ends_with(tail: str):
    """units.number ends with `tail`: on PostgreSQL a prefix of the reversed number, which
    the index ix_units_estate_number_reversed serves; elsewhere a plain LIKE."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _prefix(func.reverse(Unit.number), tail[::-1])
    return Unit.number.like(f"%{_escape_like(tail)}", escape="\\")


def _resident_units(condition):
    """Unit ids whose current residents match `condition` on users."""
    return (
        select(Residency.unit_id)
        .join(User, User.id == Residency.user_id)
        .where(condition, current_residency_clause())
    )


def _word_condition(word: str, actor):
    """A word that is not room shorthand: a resident's name or phone, or part of a place.

    The alternatives are a UNION of unit ids, each found through its own index, so that the
    database never walks every unit testing each one against all of them.
    """
    by_number = select(Unit.id).where(visible(Unit, actor), _prefix(Unit.number, word))
    if word.isdigit():
        # A phone fragment of a current resident, or the start of a room number.
        return Unit.id.in_(_resident_units(_contains(User.phone, word)).union(by_number))
    places = (
        select(Building.id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(
            visible(Zone, actor), or_(_contains(Building.name, word), _contains(Zone.name, word))
        )
    )
    return Unit.id.in_(
        _resident_units(_prefix(User.name, word)).union(
            by_number, select(Unit.id).where(Unit.building_id.in_(places))
        )
    )


def search_conditions(actor, q=None):
    """WHERE conditions on units for a clerk's query.

    Room shorthand (1栋1单元101, 1-1-101, 1-101, A区1栋101, 101) becomes equality and prefix
    conditions on zone, building and room number; anything else is matched word by word
    against the start of a current resident's name, a fragment of their phone, the start of
    the room number, or part of the zone or building name.
    """
    q = (q or "").strip()[:MAX_QUERY]
    if not q:
        return []
    place = parse_place(q)
    if place is not None:
        return _place_conditions(place, actor)
    conditions = []
    for word in q.split():
        place = parse_place(word)
        if place is not None:
            conditions.extend(_place_conditions(place, actor))
        else:
            conditions.append(_word_condition(word, actor))
    return conditions


UNIT_ROW_COLUMNS = (
    Unit.id,
    Unit.estate_id,
    Unit.number,
    Unit.kind,
    Unit.area_m2,
    Unit.occupancy,
    Unit.occupancy_since,
    Building.id.label("building_id"),
    Building.name.label("building_name"),
    Zone.id.label("zone_id"),
    Zone.name.label("zone_name"),
)


def search_rows(actor, *, q=None, zone_id=None, building_id=None):
    """A SELECT of the columns a unit list shows, for the units an actor may see matching `q`,
    in estate order (zone, building, entrance, floor, room, numbers as numbers)."""
    stmt = (
        select(*UNIT_ROW_COLUMNS)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(*_filters(actor, q, zone_id, building_id))
        .order_by(Unit.estate_id, Unit.sort_key, Unit.id)
    )
    return stmt


def count_units(actor, *, q=None, zone_id=None, building_id=None) -> int:
    """How many units `search_rows` finds, counted on units alone (no joins)."""
    stmt = (
        select(db.func.count()).select_from(Unit).where(*_filters(actor, q, zone_id, building_id))
    )
    return db.session.scalar(stmt)


def _filters(actor, q, zone_id, building_id):
    filters = [visible(Unit, actor), *search_conditions(actor, q)]
    if zone_id:
        filters.append(Unit.building_id.in_(select(Building.id).where(Building.zone_id == zone_id)))
    if building_id:
        filters.append(Unit.building_id == building_id)
    return filters


def search_units(actor, *, q=None, zone_id=None, building_id=None):
    """A SELECT of the Unit objects an actor may see matching `q` (see `search_conditions`)."""
    return (
        select(Unit)
        .where(*_filters(actor, q, zone_id, building_id))
        .options(joinedload(Unit.building).joinedload(Building.zone))
        .order_by(Unit.estate_id, Unit.sort_key, Unit.id)
    )


def unit_label(row) -> str:
    """How staff say it (A区 3栋 2单元1201), from a `search_rows` row."""
    return f"{row.zone_name} {row.building_name} {row.number}"


def label_tables() -> dict[str, dict[str, str]]:
    """Kind, occupancy and relation labels in the current language, translated once."""
    return {
        "kind": {k.value: str(label) for k, label in UNIT_KIND_LABELS.items()},
        "occupancy": {k.value: str(label) for k, label in OCCUPANCY_LABELS.items()},
        "relation": {k.value: str(label) for k, label in RELATION_LABELS.items()},
    }


def current_residents(unit_ids) -> dict[int, list]:
    """Current residents of some units as rows (unit_id, user_id, name, phone, relation, start_on,
    end_on), owners first, in one query."""
    by_unit: dict[int, list] = {}
    if not unit_ids:
        return by_unit
    rows = db.session.execute(
        select(
            Residency.unit_id,
            User.id.label("user_id"),
            User.name,
            User.phone,
            Residency.relation,
            Residency.start_on,
            Residency.end_on,
        )
        .join(User, User.id == Residency.user_id)
        .where(_among(Residency.unit_id, unit_ids), current_residency_clause())
        .order_by(Residency.unit_id, relation_order(), Residency.start_on, Residency.id)
    )
    for row in rows:
        by_unit.setdefault(row.unit_id, []).append(row)
    return by_unit


def residents_of(unit_ids, *, current_only=True):
    """Residencies (with their people) of some units, in one query (the people's staff
    roles, which the lists never show, stay unloaded)."""
    stmt = (
        select(Residency)
        .where(_among(Residency.unit_id, unit_ids))
        .options(joinedload(Residency.user).lazyload(User.staff_roles))
        .order_by(Residency.unit_id, relation_order(), Residency.start_on)
    )
    if current_only:
        stmt = stmt.where(current_residency_clause())
    return db.session.scalars(stmt).all()


# Called as hook(unit, effective_on, actor) after a change of a unit's occupancy is stored,
# in the same transaction: features above core register here (fees re-prices the months
# its billing runs already billed).
OCCUPANCY_CHANGED: list[Callable[[Unit, date, object], None]] = []


def set_occupancy(unit: Unit, occupancy: Occupancy, effective_on: date, *, actor=None):
    """Change a unit's occupancy category from a date on, keeping the history; then the
    OCCUPANCY_CHANGED hooks run."""
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
    for hook in OCCUPANCY_CHANGED:
        hook(unit, effective_on, actor)
    return True


def _among(column, ids):
    """`column IN (ids)`; on PostgreSQL a list is one array parameter (`= ANY`), so the
    statement is the same however many ids a page lists and PostgreSQL plans it once."""
    if isinstance(ids, Select) or db.session.get_bind().dialect.name != "postgresql":
        return column.in_(ids)
    return column == any_(bindparam("among_ids", [int(i) for i in ids], type_=ARRAY(Integer)))


def labels_for(unit_ids) -> dict[int, str]:
    """ "Zone building room" for some units (ids or a SELECT of ids), in one query."""
    rows = db.session.execute(
        select(Unit.id, Zone.name, Building.name, Unit.number)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(_among(Unit.id, unit_ids))
    )
    ordered = sorted(rows, key=lambda r: (natural_key(r[1]), natural_key(r[2]), natural_key(r[3])))
    return {unit_id: f"{zone} {building} {number}" for unit_id, zone, building, number in ordered}
