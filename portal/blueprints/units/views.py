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


@bp.route("/")
@staff_required
def index():
    """Find units by room number, resident name or phone, with zone and building filters."""
    q = request.args.get("q", "")
    zone_id = request.args.get("zone", type=as_id)
    building_id = request.args.get("building", type=as_id)
    stmt = unit_service.search_units(current_user, q=q, zone_id=zone_id, building_id=building_id)
    page = db.paginate(stmt, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    residents = unit_service.residents_of([u.id for u in page.items])
    by_unit = {}
    for residency in residents:
        by_unit.setdefault(residency.unit_id, []).append(residency)
    zones = db.session.scalars(
        select(Zone)
        .where(
            Zone.estate_id.in_(select(Unit.estate_id).where(visible(Unit, current_user)).distinct())
        )
        .order_by(Zone.name)
    ).all()
    buildings = []
    if zone_id:
        buildings = db.session.scalars(
            select(Building)
            .where(Building.zone_id == zone_id, Building.zone_id.in_([z.id for z in zones]))
            .order_by(Building.name)
        ).all()
    return render_template(
        "units/index.html",
        page=page,
        residents=by_unit,
        q=q,
        zones=zones,
        buildings=buildings,
        zone_id=zone_id,
        building_id=building_id,
    )


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
