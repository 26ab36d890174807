"""Reminders, collection records, call lists and payment slips (pages)."""

from typing import NamedTuple

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased, joinedload

from portal.blueprints.fees import reminders
from portal.blueprints.fees.collection_forms import ContactForm, SlipsForm
from portal.blueprints.fees.ledger import balances
from portal.blueprints.fees.models import Bill, CollectionRecord, FeeItem
from portal.blueprints.fees.slips import build_slips, waiting_for_print
from portal.blueprints.fees.views import bp
from portal.core import clock
from portal.core.access import estate_ids_for, get_or_404, roles_required, visible
from portal.core.errors import ServiceError
from portal.core.money import yuan
from portal.core.people import Relation, Role, User
from portal.core.places import Building, Estate, Unit, Zone
from portal.core.units import labels_for, natural_key, residents_of
from portal.extensions import db
from portal.jobs import Job, start_job

COLLECTORS = (Role.frontdesk, Role.zone_butler, Role.supervisor, Role.manager, Role.admin)
REVIEWERS = (Role.manager, Role.admin)
PER_PAGE = 50
RECORDS_SHOWN = 200
Record = CollectionRecord


def page_context():
    """What every collection template uses to show records."""
    return {
        "channel_labels": reminders.RECORD_CHANNEL_LABELS,
        "outcome_labels": reminders.OUTCOME_LABELS,
        "step_label": reminders.step_label,
    }


# ---- a household's record ----------------------------------------------------------------


@bp.route("/units/<int:unit_id>/collection", methods=["GET", "POST"])
@roles_required(*COLLECTORS)
def collection_records(unit_id):
    """A household's collection record (催缴记录), with the form to log a call or visit."""
    unit = get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])
    form = ContactForm()
    if form.validate_on_submit():
        try:
            reminders.record_contact(
                unit,
                channel=form.channel.data,
                outcome=form.outcome.data,
                note=form.note.data,
                actor=current_user,
            )
        except ServiceError as exc:
            db.session.rollback()
            getattr(form, next(iter(exc.fields), "note"), form.note).errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("Recorded in the household's collection record."), "success")
            return redirect(url_for("fees.collection_records", unit_id=unit.id))
    records = db.session.execute(
        select(Record, FeeItem.name, Bill.due_on, User.name)
        .outerjoin(Bill, Bill.id == Record.bill_id)
        .outerjoin(FeeItem, FeeItem.id == Bill.fee_item_id)
        .outerjoin(User, User.id == Record.actor_id)
        .where(Record.unit_id == unit.id)
        .order_by(Record.at.desc(), Record.id.desc())
        .limit(RECORDS_SHOWN)
    ).all()
    slip = next(iter(build_slips(unit.estate_id, unit_id=unit.id)), None)
    return render_template(
        "fees/collection_records.html",
        unit=unit,
        form=form,
        records=records,
        slip=slip,
        residencies=residents_of([unit.id]),
        **page_context(),
    ), 400 if form.errors else 200


# ---- the call list and the review list ---------------------------------------------------


def open_rung(channel: str):
    """SQL: a ladder rung of this channel on a bill that is still open."""
    return and_(
        Record.channel == channel,
        Record.step.is_not(None),
        exists(select(Bill.id).where(Bill.id == Record.bill_id, reminders.open_bill())),
    )


def not_contacted_since():
    """SQL: no call or door visit has been recorded for the household after the rung."""
    later = aliased(Record)
    return ~exists(
        select(later.id).where(
            later.unit_id == Record.unit_id,
            later.step.is_(None),
            later.channel.in_(reminders.CONTACT_CHANNELS),
            later.id > Record.id,
        )
    )


class ZoneChoice(NamedTuple):
    id: int
    estate_id: int
    name: str


def visible_zones() -> list[ZoneChoice]:
    """The zones of the estates the staff member works in, named with the estate when
    there are several (company-wide staff)."""
    zones = db.session.scalars(
        select(Zone)
        .where(Zone.estate_id.in_(select(Estate.id).where(estate_ids_for(current_user))))
        .options(joinedload(Zone.estate))
        .order_by(Zone.estate_id, Zone.name)
    ).all()
    several = len({z.estate_id for z in zones}) > 1
    return [
        ZoneChoice(z.id, z.estate_id, f"{z.estate.name} {z.name}" if several else z.name)
        for z in zones
    ]


def chosen_zone() -> int | None:
    """?zone=, or for a zone butler who has not chosen, the zone they look after."""
    if "zone" in request.args:
        return request.args.get("zone", type=int)
    if current_user.role == Role.zone_butler and current_user.staff_role.zone_id:
        return current_user.staff_role.zone_id
    return None


def households_page(condition, zone_id):
    """A page of unit ids whose records match, the longest-waiting first."""
    stmt = (
        select(Record.unit_id)
        .where(visible(Record, current_user), condition)
        .group_by(Record.unit_id)
        .order_by(func.min(Record.at), Record.unit_id)
    )
    if zone_id:
        stmt = stmt.join(Unit, Unit.id == Record.unit_id).join(
            Building, Building.id == Unit.building_id
        )
        stmt = stmt.where(Building.zone_id == zone_id)
    return db.paginate(stmt, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)


def household_rows(unit_ids) -> list[dict]:
    """Label, people to call, what is owed and since when, and the last contact, per unit."""
    labels = labels_for(unit_ids)
    owed = balances(unit_ids)
    oldest = dict(
        db.session.execute(
            select(Bill.unit_id, func.min(Bill.due_on))
            .where(Bill.unit_id.in_(unit_ids), reminders.open_bill())
            .group_by(Bill.unit_id)
        ).all()
    )
    people: dict[int, list] = {}
    for residency in residents_of(unit_ids):
        if residency.relation != Relation.family or not people.get(residency.unit_id):
            people.setdefault(residency.unit_id, []).append(residency.user)
    last: dict[int, Record] = {}
    for record in db.session.scalars(
        select(Record)
        .where(
            Record.unit_id.in_(unit_ids),
            Record.step.is_(None),
            Record.channel.in_(reminders.CONTACT_CHANNELS),
        )
        .order_by(Record.id)
    ):
        last[record.unit_id] = record
    today = clock.local_today()
    return [
        {
            "unit_id": unit_id,
            "label": labels.get(unit_id, ""),
            "people": people.get(unit_id, []),
            "owed": yuan(owed[unit_id].owed_fen),
            "oldest_due": oldest.get(unit_id),
            "days": (today - oldest[unit_id]).days if unit_id in oldest else None,
            "last": last.get(unit_id),
        }
        for unit_id in unit_ids
    ]


def _household_list(template, condition):
    zone_id = chosen_zone()
    page = households_page(condition, zone_id)
    return render_template(
        template,
        page=page,
        rows=household_rows(list(page.items)),
        zones=visible_zones(),
        zone_id=zone_id,
        **page_context(),
    )


@bp.route("/calls")
@roles_required(*COLLECTORS)
def calls():
    """The call list: households whose ladder says call, not called or visited since."""
    return _household_list("fees/calls.html", and_(open_rung("call"), not_contacted_since()))


@bp.route("/review")
@roles_required(*REVIEWERS)
def review():
    """The manager's review list: households long in arrears (the ladder's review rung)."""
    return _household_list("fees/review.html", open_rung("review"))


# ---- payment notice slips ----------------------------------------------------------------


def place_choices(zones):
    """Zones and their buildings as grouped choices ("zone-3", "building-7")."""
    buildings = db.session.execute(
        select(Building.id, Building.zone_id, Building.name).where(
            Building.zone_id.in_([z.id for z in zones])
        )
    ).all()
    names = {z.id: z.name for z in zones}
    zone_label = str(_l("Zones"))
    building_label = str(_l("Buildings"))
    return {
        zone_label: [(f"zone-{z.id}", z.name) for z in zones],
        building_label: [
            (f"building-{b}", f"{names[z]} {name}")
            for b, z, name in sorted(
                buildings, key=lambda r: (natural_key(names[r[1]]), natural_key(r[2]))
            )
        ],
    }


def waiting_by_building():
    """(zone, building, households) waiting for a slip, per building."""
    return db.session.execute(
        select(Zone.name, Building.name, func.count(func.distinct(Record.unit_id)))
        .join(Unit, Unit.id == Record.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(visible(Record, current_user), waiting_for_print())
        .group_by(Zone.name, Building.name)
        .order_by(Zone.name, Building.name)
    ).all()


@bp.route("/slips", methods=["GET", "POST"])
@roles_required(*COLLECTORS)
def slips():
    """Print payment notice slips (缴费通知单) for a zone or a building as one PDF."""
    zones = visible_zones()
    form = SlipsForm()
    form.place.choices = place_choices(zones)
    if form.validate_on_submit():
        kind, _sep, place_id = form.place.data.partition("-")
        estate_id = (
            {z.id: z.estate_id for z in zones}.get(int(place_id))
            if kind == "zone"
            else db.session.scalar(
                select(Zone.estate_id)
                .join(Building, Building.zone_id == Zone.id)
                .where(Building.id == int(place_id), Zone.id.in_([z.id for z in zones]))
            )
        )
        if estate_id is None:
            abort(404)
        start_job(
            "payment_slips",
            actor=current_user,
            estate_id=estate_id,
            **{f"{kind}_id": int(place_id)},
        )
        db.session.commit()
        flash(_("The PDF job has started; it is listed below."), "info")
        return redirect(url_for("fees.slips"))
    jobs = db.session.scalars(
        select(Job)
        .where(
            Job.kind == "payment_slips",
            Job.estate_id.in_(select(Estate.id).where(estate_ids_for(current_user))),
        )
        .order_by(Job.id.desc())
        .limit(5)
    ).all()
    return render_template(
        "fees/slips.html", form=form, jobs=jobs, waiting=waiting_by_building()
    ), 400 if form.errors else 200
