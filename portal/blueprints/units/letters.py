"""Activation letters (激活函), the pages: a household's letters printed at once from the
unit's page, a building's as a PDF job with progress; for the counter staff of the estate.
What a letter says and how codes are issued: activation.py.
"""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, SubmitField
from wtforms.validators import InputRequired

from portal.core import settings
from portal.core.access import COUNTER, estate_ids_for, get_or_404, roles_required
from portal.core.downloads import pdf_response
from portal.core.inputs import coerce_id
from portal.core.places import Building, Estate, Unit, Zone
from portal.core.units import natural_key
from portal.extensions import db
from portal.jobs import Job, start_job

from .activation import ADDRESS, JOB_KIND, issue_letters, letters_pdf, mask_phone, people_of
from .views import bp

ACTIVATE_PATH = "/auth/activate"  # the activation page, when its endpoint is not there


def portal_address(estate_id: int) -> str:
    """Where residents find the portal: the setting, else this request's own address."""
    return (settings.get(ADDRESS.key, estate_id) or request.url_root).rstrip("/") + "/"


def activation_url(address: str) -> str:
    """The activation page at the portal's address."""
    path = ACTIVATE_PATH
    if "auth.activate" in current_app.view_functions:
        path = url_for("auth.activate")
    return address.rstrip("/") + path


# --- The household's letters ---------------------------------------------------------------


class LettersForm(FlaskForm):
    """Print the letters (a button that only needs its CSRF token)."""

    submit = SubmitField(_l("Print the activation letters"))


@bp.route("/<int:unit_id>/letters", methods=["GET", "POST"])
@roles_required(COUNTER)
def household_letters(unit_id):
    """Who of a household gets an activation letter; the button prints them (PDF)."""
    unit = get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])
    household = people_of(unit.estate_id, [unit.id])
    form = LettersForm()
    if form.validate_on_submit():
        if not household.to_print:
            flash(_("Nobody in this household needs an activation letter."), "warning")
            return redirect(url_for("units.household_letters", unit_id=unit.id), code=303)
        estate = db.session.get(Estate, unit.estate_id)
        address = portal_address(estate.id)
        letters = issue_letters(
            estate, household, activate_url=activation_url(address), actor=current_user
        )
        pdf = letters_pdf(estate, letters, address=address)
        db.session.commit()
        response = pdf_response(pdf, f"activation-letters-unit-{unit.id}.pdf")
        response.headers["Cache-Control"] = "no-store"
        return response
    return render_template(
        "units/letters.html", unit=unit, household=household, form=form, mask_phone=mask_phone
    ), 400 if form.errors else 200


# --- A building's letters (a job) ------------------------------------------------------------


class BuildingLettersForm(FlaskForm):
    """Print the letters of one building."""

    building = SelectField(
        _l("Building"),
        coerce=coerce_id,
        validate_choice=False,
        validators=[InputRequired(_l("Choose a building."))],
    )
    submit = SubmitField(_l("Make the PDF"))


def building_choices(actor) -> list[tuple[int, str]]:
    """The buildings of the estates the actor works in (named with the estate when there
    are several)."""
    rows = db.session.execute(
        select(Building.id, Building.name, Zone.name, Estate.id, Estate.name)
        .join(Zone, Zone.id == Building.zone_id)
        .join(Estate, Estate.id == Zone.estate_id)
        .where(estate_ids_for(actor))
    ).all()
    several = len({row[3] for row in rows}) > 1
    rows.sort(key=lambda r: (r[3], natural_key(r[2]), natural_key(r[1])))
    return [(b, f"{e} {z} {name}" if several else f"{z} {name}") for b, name, z, _e, e in rows]


def my_letter_jobs(actor, limit: int = 5):
    """The actor's latest letter jobs (only they may download one: it holds live codes)."""
    return db.session.scalars(
        select(Job)
        .where(Job.kind == JOB_KIND, Job.created_by_id == actor.id)
        .order_by(Job.id.desc())
        .limit(limit)
    ).all()


@bp.route("/letters", methods=["GET", "POST"])
@roles_required(COUNTER)
def building_letters():
    """Print the activation letters of a building as one PDF (a job with progress)."""
    form = BuildingLettersForm()
    form.building.choices = building_choices(current_user)
    if form.validate_on_submit():
        in_scope = Building.zone_id.in_(
            select(Zone.id).where(
                Zone.estate_id.in_(select(Estate.id).where(estate_ids_for(current_user)))
            )
        )
        building = get_or_404(Building, form.building.data, scope=in_scope)
        estate_id = db.session.scalar(select(Zone.estate_id).where(Zone.id == building.zone_id))
        address = portal_address(estate_id)
        # No estate on the row: the job and its PDF are the clerk's own (jobs.visible_jobs).
        start_job(
            JOB_KIND,
            actor=current_user,
            building_id=building.id,
            letters_estate_id=estate_id,
            address=address,
            activate_url=activation_url(address),
            locale=str(get_locale() or "zh_CN"),
        )
        db.session.commit()
        flash(_("The PDF job has started; it is listed below."), "info")
        return redirect(url_for("units.building_letters"), code=303)
    return render_template(
        "units/letters_building.html", form=form, jobs=my_letter_jobs(current_user)
    ), 400 if form.errors else 200
