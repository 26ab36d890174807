"""The estate directory: staff search units, residents see their own unit, and the desk keeps
a unit's people and occupancy on its page."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.blueprints.custody import services as custody
from portal.core import clock, residents
from portal.core import units as unit_service
from portal.core.access import (
    DESK,
    acting_estate_id,
    as_id,
    get_or_404,
    may_open,
    roles_required,
    staff_required,
    visible,
)
from portal.core.errors import ServiceError
from portal.core.people import Residency, User
from portal.core.places import Building, Unit, Zone
from portal.extensions import db

from .forms import EndResidencyForm, OccupancyForm, PhoneForm, ResidentForm

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
        can_print_letters=may_open(
            current_user, current_app.view_functions["units.building_letters"]
        ),
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


def _load_unit(unit_id) -> Unit:
    return get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])


@bp.route("/<int:unit_id>")
@login_required
def detail(unit_id):
    """One unit: its place, occupancy history and residents (staff see past ones too, and
    the desk changes people and occupancy here)."""
    return _detail_page(_load_unit(unit_id))


def _detail_page(unit: Unit, status: int = 200, *, failed=None):
    """The unit page; `failed` is a refused form (its prefix names it), shown with its
    messages in place of the blank one."""
    residencies = unit_service.residents_of([unit.id], current_only=not current_user.is_staff)
    today = clock.local_today()
    current = [r for r in residencies if r.end_on is None or r.end_on >= today]
    past = sorted(
        (r for r in residencies if r.end_on is not None and r.end_on < today),
        key=lambda r: (r.end_on, r.id),
        reverse=True,
    )
    forms = None
    if current_user.role in DESK:
        forms = {
            "resident": ResidentForm(prefix="resident", formdata=None),
            "occupancy": OccupancyForm(
                prefix="occupancy", formdata=None, data={"effective_on": today}
            ),
        }
        for r in current:
            forms[f"end-{r.id}"] = EndResidencyForm(
                prefix=f"end-{r.id}", formdata=None, data={"on": today}
            )
            forms[f"phone-{r.id}"] = PhoneForm(
                prefix=f"phone-{r.id}", formdata=None, data={"phone": r.user.phone}
            )
        if failed is not None:
            forms[failed._prefix.rstrip("-")] = failed
    return render_template(
        "units/detail.html",
        can_notify=may_open(current_user, current_app.view_functions["notices.new"])
        and unit.estate_id == acting_estate_id(),
        can_print_letters=may_open(
            current_user, current_app.view_functions["units.household_letters"]
        ),
        can_move=may_open(current_user, current_app.view_functions["moves.new_in"]),
        can_renovate=current_user.is_staff
        and may_open(current_user, current_app.view_functions["renovation.new"]),
        custody=custody.unit_panel(unit.id),
        unit=unit,
        residencies=current,
        past=past,
        history=unit.occupancy_history,
        forms=forms,
    ), status


def _refused(unit, form, exc: ServiceError | None = None):
    """The page again with the form's messages: a rule's message beside the field it names
    (or above the form), nothing stored."""
    db.session.rollback()
    if exc is None:
        return _detail_page(_load_unit(unit.id), 400, failed=form)
    names = {"from": ("start_on", "effective_on")}
    candidates = [n for key in exc.fields for n in (*names.get(key, ()), key)]
    target = next((form._fields[n] for n in candidates if n in form._fields), form.submit)
    target.errors = [*target.errors, str(exc.message)]
    return _detail_page(_load_unit(unit.id), exc.status, failed=form)


def _done(unit, message):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".detail", unit_id=unit.id), 303)


@bp.route("/<int:unit_id>/residents", methods=["POST"])
@roles_required(DESK)
def add_resident(unit_id):
    """Add an owner, tenant or family member to the unit from a date."""
    unit = _load_unit(unit_id)
    form = ResidentForm(prefix="resident")
    if not form.validate_on_submit():
        return _refused(unit, form)
    try:
        residents.add_resident(
            unit,
            name=form.name.data,
            phone=form.phone.data,
            relation=form.relation.data,
            start_on=form.start_on.data,
            actor=current_user,
        )
    except ServiceError as exc:
        return _refused(unit, form, exc)
    return _done(unit, _("%(name)s is now registered in this unit.", name=form.name.data))


@bp.route("/<int:unit_id>/residents/<int:residency_id>/end", methods=["POST"])
@roles_required(DESK)
def end_residency(unit_id, residency_id):
    """End a residency on a date; the row stays in the unit's history."""
    unit = _load_unit(unit_id)
    residency = get_or_404(Residency, residency_id, scope=Residency.unit_id == unit.id)
    form = EndResidencyForm(prefix=f"end-{residency.id}")
    if not form.validate_on_submit():
        return _refused(unit, form)
    try:
        residents.end_residency(residency, form.on.data, actor=current_user)
    except ServiceError as exc:
        return _refused(unit, form, exc)
    return _done(unit, _("The residency ends on %(date)s.", date=form.on.data.isoformat()))


@bp.route("/<int:unit_id>/residents/<int:residency_id>/phone", methods=["POST"])
@roles_required(DESK)
def correct_phone(unit_id, residency_id):
    """Correct the phone number of one of the unit's people (the old one stays audited)."""
    unit = _load_unit(unit_id)
    residency = get_or_404(Residency, residency_id, scope=Residency.unit_id == unit.id)
    form = PhoneForm(prefix=f"phone-{residency.id}")
    if not form.validate_on_submit():
        return _refused(unit, form)
    person = db.session.get(User, residency.user_id)
    try:
        changed = residents.correct_phone(
            person, form.phone.data, actor=current_user, estate_id=unit.estate_id
        )
    except ServiceError as exc:
        return _refused(unit, form, exc)
    if not changed:
        return _done(unit, _("The phone number was already %(phone)s.", phone=person.phone))
    return _done(
        unit, _("%(name)s's phone number is now %(phone)s.", name=person.name, phone=person.phone)
    )


@bp.route("/<int:unit_id>/occupancy", methods=["POST"])
@roles_required(DESK)
def change_occupancy(unit_id):
    """Change the unit's occupancy category from a date (billing follows it)."""
    unit = _load_unit(unit_id)
    form = OccupancyForm(prefix="occupancy")
    if not form.validate_on_submit():
        return _refused(unit, form)
    try:
        residents.change_occupancy(
            unit, form.occupancy.data, form.effective_on.data, actor=current_user
        )
    except ServiceError as exc:
        return _refused(unit, form, exc)
    return _done(
        unit,
        _(
            "The occupancy is %(label)s from %(date)s.",
            label=unit.occupancy_enum.label,
            date=form.effective_on.data.isoformat(),
        ),
    )
