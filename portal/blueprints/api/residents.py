"""API: a unit's people and occupancy, kept by staff (contracts §7), on the same services
as the unit page (portal.core.residents).

The lists live at paths of their own (`/residencies`, `/occupancy-history`): a GET beside
the POST on one path would answer 405, not 404, for an id past the largest (werkzeug
reports the other method's rule when the id converter refuses the number)."""

from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.paging import page_of
from portal.blueprints.api.spec import route
from portal.blueprints.api.views import unit_out
from portal.core import residents
from portal.core.access import DESK, STAFF, get_or_404, visible
from portal.core.people import Residency, User
from portal.core.places import Building, Unit, UnitOccupancy
from portal.extensions import db


def _unit(unit_id) -> Unit:
    return get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])


def _residency(unit: Unit, residency_id) -> Residency:
    """One of this unit's residencies; another unit's answers 404."""
    return get_or_404(
        Residency,
        residency_id,
        scope=Residency.unit_id == unit.id,
        options=[joinedload(Residency.user)],
    )


def residency_out(residency: Residency) -> s.ResidencyOut:
    return s.ResidencyOut(
        residency_id=residency.id,
        unit_id=residency.unit_id,
        person_id=residency.user_id,
        name=residency.user.name,
        phone=residency.user.phone,
        relation=residency.relation,
        start_on=residency.start_on,
        end_on=residency.end_on,
    )


@route(
    bp,
    "/units/<int:unit_id>/residencies",
    summary="A unit's residencies, current and past, the latest first",
    query=s.PageQuery,
    response=s.ResidencyPage,
    roles=STAFF,
    errors=(404,),
    tags=("units",),
)
def list_residencies(unit_id, query):
    """Every residency of the unit with its dates: history is kept, never overwritten."""
    unit = _unit(unit_id)
    stmt = (
        select(Residency)
        .where(Residency.unit_id == unit.id)
        .options(joinedload(Residency.user).lazyload(User.staff_roles))
        .order_by(Residency.start_on.desc(), Residency.id.desc())
    )
    return page_of(stmt, query, residency_out)


@route(
    bp,
    "/units/<int:unit_id>/residents",
    method="POST",
    summary="Add an owner, tenant or family member to a unit from a date (default today); "
    "the same name and phone in the estate is the same person, another person's phone is 409",
    body=s.ResidentIn,
    response=s.ResidencyOut,
    status=201,
    roles=DESK,
    errors=(404, 409),
    tags=("units",),
)
def add_resident(unit_id, body):
    """A new residency of the unit; 201 with its id."""
    unit = _unit(unit_id)
    residency = residents.add_resident(
        unit,
        name=body.name,
        phone=body.phone,
        relation=body.relation,
        start_on=body.from_,
        actor=current_user,
    )
    db.session.commit()
    return residency_out(residency)


@route(
    bp,
    "/units/<int:unit_id>/residents/<int:residency_id>/end",
    method="POST",
    summary="End a residency: `on` is its last day, not before its first",
    body=s.ResidencyEndIn,
    response=s.ResidencyOut,
    roles=DESK,
    errors=(404, 409),
    tags=("units",),
)
def end_residency(unit_id, residency_id, body):
    """The residency keeps its row, now with its last day; ended already → 409."""
    residency = _residency(_unit(unit_id), residency_id)
    residents.end_residency(residency, body.on, actor=current_user)
    db.session.commit()
    return residency_out(residency)


@route(
    bp,
    "/units/<int:unit_id>/occupancy-history",
    summary="A unit's occupancy history, the latest first",
    query=s.PageQuery,
    response=s.OccupancyPage,
    roles=STAFF,
    errors=(404,),
    tags=("units",),
)
def list_occupancy(unit_id, query):
    """Every occupancy change of the unit with the date it took effect."""
    unit = _unit(unit_id)
    stmt = (
        select(UnitOccupancy)
        .where(UnitOccupancy.unit_id == unit.id)
        .order_by(UnitOccupancy.effective_on.desc(), UnitOccupancy.id.desc())
    )
    return page_of(
        stmt,
        query,
        lambda h: s.OccupancyOut(
            occupancy=h.occupancy,
            occupancy_label=str(h.occupancy_enum.label),
            from_=h.effective_on,
            recorded_at=h.recorded_at,
        ),
    )


@route(
    bp,
    "/units/<int:unit_id>/occupancy",
    method="POST",
    summary="Change a unit's occupancy category from a date (today at the latest, not before "
    "the last change); billing follows it day by day",
    body=s.OccupancyIn,
    response=s.UnitOut,
    roles=DESK,
    errors=(404, 409),
    tags=("units",),
)
def change_occupancy(unit_id, body):
    """The unit as it now stands; the same change again answers the same."""
    unit = _unit(unit_id)
    residents.change_occupancy(unit, body.occupancy, body.from_, actor=current_user)
    db.session.commit()
    return unit_out(unit)


@route(
    bp,
    "/people/<int:person_id>",
    method="PATCH",
    summary="Correct the phone number of a resident of the caller's estate (the old number "
    "stays in the audit log); another person's number in the estate is 409",
    body=s.PersonPhoneIn,
    response=s.PersonOut,
    roles=DESK,
    errors=(404, 409),
    tags=("people",),
)
def correct_phone(person_id, body):
    """The person with their phone number as it now stands."""
    held = select(Residency.user_id).join(Unit, Unit.id == Residency.unit_id)
    person = get_or_404(User, person_id, scope=User.id.in_(held.where(visible(Unit, current_user))))
    estate_id = db.session.scalar(
        select(Unit.estate_id)
        .join(Residency, Residency.unit_id == Unit.id)
        .where(Residency.user_id == person.id, visible(Unit, current_user))
        .order_by(Unit.estate_id)
        .limit(1)
    )
    residents.correct_phone(person, body.phone, actor=current_user, estate_id=estate_id)
    db.session.commit()
    return s.PersonOut(id=person.id, name=person.name, phone=person.phone)
