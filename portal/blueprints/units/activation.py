"""Activation letters (激活函), the service: one printed page per resident who has no password
yet, with the portal's address, the phone on record (masked), a one-time activation code and a
QR code of the activation page with the phone filled in; and the building's PDF job.

Every letter issues a new code (valid 30 days, one use) through core/codes.py, replaces the
person's earlier letter and is audited. The QR code holds the address and the phone only: the
code stays on paper, out of browser histories, proxy logs and the photo a neighbour takes of
the QR code.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import segno
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from portal.core import audit, clock, codes, settings
from portal.core.errors import ServiceError
from portal.core.people import Residency, User, current_residency_clause, relation_order
from portal.core.places import Building, Estate, Unit, Zone
from portal.core.units import labels_for
from portal.extensions import db
from portal.jobs import JOB_FUNCTIONS, Job, results_dir, set_progress

JOB_KIND = "activation_letters"
JOB_FUNCTIONS[JOB_KIND] = "portal.blueprints.units.activation.print_building_letters"
VALID_FOR = timedelta(days=30)


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
            # The activation page's own button, quoted as the resident will see it.
            _(
                "Check the phone number, press “%(button)s” and enter the activation code above.",
                button=_("I have a code from a letter"),
            ),
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


# --- A building's letters: the job ------------------------------------------------------------


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
