"""The estate directory: staff search units; residents see their own unit."""

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.core import units as unit_service
from portal.core.access import (
    acting_estate_id,
    as_id,
    get_or_404,
    may_open,
    staff_required,
    visible,
)
from portal.core.places import Building, Unit, Zone
from portal.extensions import db

bp = Blueprint("units", __name__)
PER_PAGE = 50
MAX_PAGE = 100_000


@bp.route("/")
@staff_required
def index():
    """Find units by room number, resident name or phone, with zone and building filters.

    Three statements whatever the estate's size: the page of units as rows (one more than a
    page, to know whether another follows), their current residents, and the zones with the
    chosen zone's buildings for the filters.
    """
    q = request.args.get("q", "")
    zone_id = request.args.get("zone", type=as_id)
    building_id = request.args.get("building", type=as_id)
    page = request.args.get("page", 1, type=int)
    page = page if page and 0 < page <= MAX_PAGE else 1
    stmt = unit_service.search_rows(current_user, q=q, zone_id=zone_id, building_id=building_id)
    rows = db.session.execute(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    has_next = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    residents = unit_service.current_residents([row.id for row in rows])
    zones, buildings = _filter_choices(zone_id)
    return render_template(
        "units/index.html",
        rows=rows,
        labels=unit_service.label_tables(),
        page=page,
        has_next=has_next,
        shown_from=(page - 1) * PER_PAGE + 1,
        shown_to=(page - 1) * PER_PAGE + len(rows),
        residents=residents,
        q=q,
        zones=zones,
        buildings=buildings,
        zone_id=zone_id,
        building_id=building_id,
    )


def _filter_choices(zone_id):
    """The zones the user may see and, when one is chosen, its buildings: one query."""
    stmt = (
        select(
            Zone.id, Zone.name, Building.id.label("building_id"), Building.name.label("building")
        )
        .outerjoin(Building, (Building.zone_id == Zone.id) & (Zone.id == (zone_id or 0)))
        .where(visible(Zone, current_user))
        .order_by(Zone.name, Zone.id)
    )
    zones, buildings = {}, []
    for row in db.session.execute(stmt):
        zones.setdefault(row.id, row)
        if row.building_id is not None:
            buildings.append(row)
    buildings.sort(key=lambda b: unit_service.natural_key(b.building))
    return list(zones.values()), buildings


@bp.route("/<int:unit_id>")
@login_required
def detail(unit_id):
    """One unit: its place, occupancy history and residents (staff see past ones too)."""
    unit = get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])
    residencies = unit_service.residents_of([unit.id], current_only=not current_user.is_staff)
    return render_template(
        "units/detail.html",
        can_notify=may_open(current_user, current_app.view_functions["notices.new"])
        and unit.estate_id == acting_estate_id(),
        unit=unit,
        residencies=residencies,
        history=unit.occupancy_history,
    )
