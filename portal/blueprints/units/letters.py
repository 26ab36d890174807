"""Activation letters (激活函): one printed page per resident who has no password yet, with
the portal's address, the phone on record (masked), a one-time activation code and a QR code
of the activation page with the phone filled in.

The front desk prints a household's letters at once from the unit's page, and a building's
as a PDF job. Every letter issues a new code (valid 30 days, one use) through core/codes.py
and is audited. The QR code holds the address and the phone only: the code stays on paper,
out of browser histories, proxy logs and the photo a neighbour takes of the QR code.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import segno
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from wtforms import SelectField, SubmitField
from wtforms.validators import InputRequired

from portal.core import audit, clock, codes, settings
from portal.core.access import COUNTER, estate_ids_for, get_or_404, roles_required
from portal.core.downloads import pdf_response
from portal.core.errors import ServiceError
from portal.core.inputs import coerce_id
from portal.core.people import Residency, User, current_residency_clause, relation_order
from portal.core.places import Building, Estate, Unit, Zone
from portal.core.units import labels_for, natural_key
from portal.extensions import db
from portal.jobs import JOB_FUNCTIONS, Job, results_dir, set_progress, start_job

from .views import bp

JOB_KIND = "activation_letters"
JOB_FUNCTIONS[JOB_KIND] = "portal.blueprints.units.letters.print_building_letters"
VALID_FOR = timedelta(days=30)
ACTIVATE_PATH = "/auth/activate"  # the activation page, when its endpoint is not there


def _check_address(raw: str) -> None:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ServiceError(
            _l("Enter the address as https://host/ (no query)."),
            fields={"portal.address": "url"},
        )


ADDRESS = settings.declare(
    "portal.address",
    _l("Portal address for printed letters"),
    str,
    "",
    help=_l(
        "The web address residents type or scan from an activation letter, e.g. "
        "https://wuye.example.com/. Empty: the address the front desk uses to print."
    ),
    validate=_check_address,
)


# --- What a letter says ------------------------------------------------------------------------


@dataclass
class Letter:
    """One resident's activation letter."""

    name: str
    phone: str
    units: list[str]
    code: str
    url: str
    qr: str = ""  # an SVG data: URL

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


@dataclass
class Household:
    """The people of some units with a current residency, as letters see them."""

    to_print: list[User] = field(default_factory=list)
    activated: list[User] = field(default_factory=list)
    no_phone: list[User] = field(default_factory=list)
    units: dict[int, list[int]] = field(default_factory=dict)  # user id → their unit ids


def mask_phone(phone: str | None) -> str:
    """138****1234: the first three and last four digits of a phone number."""
    phone = (phone or "").strip()
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def people_of(estate_id: int, unit_ids) -> Household:
    """The people with a current residency in some units (ids or a SELECT of ids), sorted
    into those who get a letter, those who activated already and those with no phone;
    each with every unit of the estate they currently hold (letters name them all)."""
    holders = select(Residency.user_id).where(
        Residency.unit_id.in_(unit_ids), current_residency_clause()
    )
    rows = db.session.execute(
        select(User, Residency.unit_id)
        .join(Residency, Residency.user_id == User.id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(
            User.id.in_(holders),
            Unit.estate_id == estate_id,
            current_residency_clause(),
            User.is_active,
        )
        .order_by(Unit.sort_key, Unit.id, relation_order(), Residency.start_on, User.id)
    ).all()
    household = Household()
    for user, unit_id in rows:
        if user.id not in household.units:
            household.units[user.id] = []
            if user.password_hash:
                household.activated.append(user)
            elif not user.phone:
                household.no_phone.append(user)
            else:
                household.to_print.append(user)
        household.units[user.id].append(unit_id)
    return household


def end_earlier_letters(user_ids: list[int]) -> int:
    """A new letter replaces a person's earlier ones: their unused letter codes expire now
    (an SMS code, valid minutes, is left alone). A letter lost or left in the wrong mailbox
    is then worth nothing once the front desk prints another."""
    now = clock.now()
    earlier = [
        c.id
        for c in db.session.scalars(
            select(codes.AccountCode).where(
                codes.AccountCode.user_id.in_(user_ids),
                codes.AccountCode.purpose == codes.ACTIVATE,
                codes.AccountCode.used_at.is_(None),
                codes.AccountCode.expires_at > now,
            )
        )
        if c.expires_at - c.created_at > codes.CODE_VALIDITY
    ]
    if earlier:
        db.session.execute(
            update(codes.AccountCode)
            .where(codes.AccountCode.id.in_(earlier))
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(earlier)


def issue_letters(estate: Estate, household: Household, *, activate_url: str, actor) -> list:
    """A new activation code for each person to print, audited: their letters."""
    labels = labels_for([u for ids in household.units.values() for u in ids])
    letters = []
    end_earlier_letters([user.id for user in household.to_print])
    for user in household.to_print:
        code = codes.issue(user, codes.ACTIVATE, valid_for=VALID_FOR)
        units = household.units[user.id]
        audit.record(
            "resident.letter", user, actor=actor, estate_id=estate.id, after={"unit_id": units[0]}
        )
        url = f"{activate_url}?{urlencode({'phone': user.phone})}"
        letters.append(
            Letter(
                name=user.name,
                phone=user.phone,
                units=[labels[u] for u in units if u in labels],
                code=code,
                url=url,
                qr=segno.make(url, error="m").svg_data_uri(scale=4, border=2),
            )
        )
    return letters


def instructions() -> list[tuple[str, list[str]]]:
    """The steps, in the printing language; in Chinese as well when that is another."""

    def steps() -> list[str]:
        return [
            _("Open the portal's address above, or scan the QR code with your phone."),
            _("Enter the phone number on record and the activation code on this letter."),
            _(
                "Choose a password of at least 8 characters: from then on you sign in with "
                "your phone number and that password."
            ),
            _(
                "The code works once, until the date above. Keep this letter to yourself: "
                "staff will never ask you for the code."
            ),
            _(
                "Wrong phone number, or the code no longer works? Ask at the service centre "
                "for a new letter."
            ),
        ]

    blocks = [(str(get_locale()), steps())]
    if get_locale() is None or get_locale().language != "zh":
        with force_locale("zh_CN"):
            blocks.append(("zh_CN", steps()))
    return blocks


def letters_pdf(estate: Estate, letters: list[Letter], *, address: str) -> bytes:
    """The letters as one PDF, a page each."""
    from portal.pdf import render_pdf

    valid_until = (clock.now() + VALID_FOR).astimezone(ZoneInfo(estate.timezone)).date()
    return render_pdf(
        "letters/activation.html",
        estate=estate,
        letters=letters,
        address=address,
        valid_until=valid_until,
        instructions=instructions(),
    )


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
    )


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


def print_building_letters(job: Job) -> None:
    """The job: a new code and a letter for each resident of a building without a password,
    one PDF."""
    params = job.params
    estate = db.session.get(Estate, params["letters_estate_id"])
    actor = db.session.get(User, job.created_by_id)
    building = db.session.scalar(
        select(Building)
        .join(Zone, Zone.id == Building.zone_id)
        .where(Building.id == params["building_id"], Zone.estate_id == estate.id)
        .options(joinedload(Building.zone))
    )
    if building is None:
        raise ValueError(_("That building is not part of this estate."))
    with force_locale(params.get("locale") or "zh_CN"):
        units = select(Unit.id).where(Unit.building_id == building.id)
        household = people_of(estate.id, units)
        if not household.to_print:
            place = f"{building.zone.name} {building.name}"
            raise ValueError(
                _(
                    "Everyone in %(place)s has activated or has no phone on record: there "
                    "are no letters to print.",
                    place=place,
                )
            )
        set_progress(job, 1, 4)
        letters = issue_letters(estate, household, activate_url=params["activate_url"], actor=actor)
        pdf = letters_pdf(estate, letters, address=params["address"])
    path = results_dir() / f"job-{job.id}.pdf"
    path.write_bytes(pdf)
    set_progress(job, 3, 4)  # commits the codes and their audit entries with the file
    job.result_path = str(path)
    job.result_name = f"activation-letters-building-{building.id}-{_today(estate)}.pdf"
    db.session.commit()


def _today(estate: Estate) -> date:
    return clock.local_today(estate.timezone)
