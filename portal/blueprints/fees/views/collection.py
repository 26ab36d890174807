"""Reminders, collection records, call lists and payment slips (pages)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_
from sqlalchemy.orm import joinedload

from portal.core.access import DESK, MANAGERS, as_id, get_or_404, roles_required
from portal.core.errors import ServiceError
from portal.core.places import Building, Unit
from portal.core.units import residents_of
from portal.extensions import db
from portal.jobs import start_job

from .. import collection as lists
from .. import contacts
from ..collection_forms import ContactForm, SlipsForm
from ..slips import build_slips
from .blueprint import bp


def page_context():
    """What every collection template uses to show records."""
    return {
        "channel_labels": contacts.RECORD_CHANNEL_LABELS,
        "outcome_labels": contacts.OUTCOME_LABELS,
        "step_label": contacts.step_label,
    }


@bp.route("/units/<int:unit_id>/collection", methods=["GET", "POST"])
@roles_required(DESK)
def collection_records(unit_id):
    """A household's collection record (催缴记录), with the form to log a call or visit."""
    unit = get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contacts.record_contact(
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
    return render_template(
        "fees/collection_records.html",
        unit=unit,
        form=form,
        records=lists.record_rows(unit.id),
        slip=next(iter(build_slips(unit.estate_id, unit_id=unit.id)), None),
        residencies=residents_of([unit.id]),
        **page_context(),
    ), 400 if form.errors else 200


def chosen_zone() -> int | None:
    """?zone= (a zone butler's lists hold only their zones whatever is chosen)."""
    return request.args.get("zone", type=as_id)


def household_list(template, condition):
    zone_id = chosen_zone()
    page = lists.households_page(current_user, condition, zone_id)
    return render_template(
        template,
        page=page,
        rows=lists.household_rows(list(page.items)),
        zones=lists.visible_zones(current_user),
        zone_id=zone_id,
        **page_context(),
    )


@bp.route("/calls")
@roles_required(DESK)
def calls():
    """The call list: households whose ladder says call, not called or visited since."""
    condition = and_(lists.open_rung("call"), lists.not_contacted_since())
    return household_list("fees/calls.html", condition)


@bp.route("/review")
@roles_required(MANAGERS)
def review():
    """The manager's review list: households long in arrears (the ladder's review rung)."""
    return household_list("fees/review.html", lists.open_rung("review"))


@bp.route("/slips", methods=["GET", "POST"])
@roles_required(DESK)
def slips():
    """Print payment notice slips (缴费通知单) for a zone or a building as one PDF."""
    zones = lists.visible_zones(current_user)
    form = SlipsForm()
    form.place.choices = lists.place_choices(zones)
    if form.validate_on_submit():
        kind, _sep, place_id = form.place.data.partition("-")
        estate_id = lists.slip_estate(zones, kind, int(place_id))
        if estate_id is None:
            abort(404)
        place = {f"{kind}_id": int(place_id)}
        start_job("payment_slips", actor=current_user, estate_id=estate_id, **place)
        db.session.commit()
        flash(_("The PDF job has started; it is listed below."), "info")
        return redirect(url_for("fees.slips"))
    return render_template(
        "fees/slips.html",
        form=form,
        jobs=lists.recent_slip_jobs(current_user),
        waiting=lists.waiting_by_building(current_user),
    ), 400 if form.errors else 200
