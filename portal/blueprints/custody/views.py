"""The desk's pages: a unit's cards, meter readings and keys; the key custody register with
its overdue loans flagged; the custody and lending slips to print.

Desk staff (front desk, supervisors, managers, administrators, and zone butlers within
their zones) open them; anything outside the caller's scope answers 404.
"""

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import joinedload

from portal.blueprints.custody import (
    models,  # noqa: F401 - the tables this line keeps
    printing,
    services,
)
from portal.blueprints.custody.forms import (
    HandOverKeysForm,
    IssueCardsForm,
    LendKeysForm,
    LostCardForm,
    ReadingsForm,
    ReplaceCardForm,
    ReturnCardsForm,
    TakeBackKeysForm,
    TakeKeysForm,
)
from portal.blueprints.custody.models import (
    KEY_STATUS_LABELS,
    Card,
    KeyMovement,
    KeySet,
    KeyStatus,
    Meter,
)
from portal.core import clock
from portal.core.access import DESK, acting_estate_id, get_or_404, roles_required
from portal.core.errors import ServiceError
from portal.core.paging import paginate
from portal.core.places import Building, Unit
from portal.extensions import db

# The PDFs' templates sit in templates/custody/pdf/ (render_pdf reads pdf/<name>).
bp = Blueprint("custody", __name__, template_folder="../../../templates/custody")
PER_PAGE = 50
FILTERS = {
    "": _l("In custody"),
    "overdue": _l("Overdue"),
    KeyStatus.held.value: KEY_STATUS_LABELS[KeyStatus.held],
    KeyStatus.lent.value: KEY_STATUS_LABELS[KeyStatus.lent],
    KeyStatus.handed_over.value: KEY_STATUS_LABELS[KeyStatus.handed_over],
}


@bp.record_once
def _panel_roles(state):
    """Who sees the unit page's link to this line (templates/custody/_unit_panel.html)."""
    state.app.jinja_env.globals["custody_roles"] = DESK


def _unit(unit_id) -> Unit:
    return get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])


def _key_set(key_set_id) -> KeySet:
    return get_or_404(
        KeySet,
        key_set_id,
        options=[joinedload(KeySet.unit).joinedload(Unit.building).joinedload(Building.zone)],
    )


def _numbers(raw) -> list[str]:
    return [n for n in re.split(r"[\s,，、;；]+", raw or "") if n]


# --- A unit's cards, readings and keys -------------------------------------------------------


def _unit_page(unit: Unit, status: int = 200, *, failed=None):
    today = clock.local_today()
    cards = services.cards_of(unit.id)
    forms = {
        "issue": IssueCardsForm(prefix="issue", formdata=None, data={"on": today}),
        "return": ReturnCardsForm(prefix="return", formdata=None, data={"on": today}),
        "readings": ReadingsForm(
            prefix="readings", formdata=None, data={"on": today, "purpose": "routine"}
        ),
        "keys": TakeKeysForm(prefix="keys", formdata=None, data={"on": today, "count": 1}),
    }
    for card in cards:
        if card.is_live:
            forms[f"lost-{card.id}"] = LostCardForm(
                prefix=f"lost-{card.id}", formdata=None, data={"on": today}
            )
        if card.is_live or (card.status == "lost" and card.replaced_by_id is None):
            forms[f"replace-{card.id}"] = ReplaceCardForm(
                prefix=f"replace-{card.id}", formdata=None, data={"on": today}
            )
    if failed is not None:
        forms[failed._prefix.rstrip("-")] = failed
    return render_template(
        "custody/unit.html",
        unit=unit,
        cards=cards,
        readings=services.readings_of(unit.id, limit=30),
        latest=services.last_readings(unit.id),
        key_sets=services.key_sets_of(unit.id),
        forms=forms,
        meters=list(Meter),
    ), status


def _refused(unit: Unit, form, exc: ServiceError | None = None):
    """The page again with the refused form's messages beside its fields; nothing stored."""
    db.session.rollback()
    if exc is not None:
        names = {"cards": ("numbers", "number"), "due_back_at": ("due_on",)}
        candidates = [
            n for key in exc.fields for n in (*names.get(key, ()), key, key.split(".")[-1])
        ]
        target = next((form._fields[n] for n in candidates if n in form._fields), form.submit)
        target.errors = [*target.errors, str(exc.message)]
    return _unit_page(_unit(unit.id), exc.status if exc else 400, failed=form)


def _done(endpoint, message, **values):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(endpoint, **values), 303)


@bp.route("/units/<int:unit_id>")
@roles_required(DESK)
def unit(unit_id):
    """A unit's cards (issued, returned, lost), meter readings and keys, with the forms to
    issue, take back, report lost, replace, read the meters and take keys in."""
    return _unit_page(_unit(unit_id))


@bp.route("/units/<int:unit_id>/cards", methods=["POST"])
@roles_required(DESK)
def issue_cards(unit_id):
    unit = _unit(unit_id)
    form = IssueCardsForm(prefix="issue")
    if not form.validate_on_submit():
        return _refused(unit, form)
    numbers = _numbers(form.numbers.data)
    try:
        made = services.issue_cards(
            unit,
            [{"number": n, "kind": form.kind.data} for n in numbers],
            form.on.data,
            actor=current_user,
        )
    except ServiceError as exc:
        return _refused(unit, form, exc)
    return _done(
        ".unit",
        _("Issued: %(numbers)s", numbers=", ".join(c.number for c in made)),
        unit_id=unit.id,
    )


@bp.route("/units/<int:unit_id>/cards/return", methods=["POST"])
@roles_required(DESK)
def return_cards(unit_id):
    unit = _unit(unit_id)
    form = ReturnCardsForm(prefix="return")
    if not form.validate_on_submit():
        return _refused(unit, form)
    try:
        back = services.return_cards(
            unit, _numbers(form.numbers.data), form.on.data, actor=current_user
        )
    except ServiceError as exc:
        return _refused(unit, form, exc)
    return _done(
        ".unit",
        _("Returned: %(numbers)s", numbers=", ".join(c.number for c in back)),
        unit_id=unit.id,
    )


def _card(unit: Unit, card_id) -> Card:
    return get_or_404(Card, card_id, where=(Card.unit_id == unit.id,))


@bp.route("/units/<int:unit_id>/cards/<int:card_id>/lost", methods=["POST"])
@roles_required(DESK)
def report_lost(unit_id, card_id):
    unit = _unit(unit_id)
    card = _card(unit, card_id)
    form = LostCardForm(prefix=f"lost-{card.id}")
    if not form.validate_on_submit():
        return _refused(unit, form)
    try:
        services.report_lost(card, form.on.data, actor=current_user)
    except ServiceError as exc:
        return _refused(unit, form, exc)
    return _done(
        ".unit", _("Card %(number)s is reported lost.", number=card.number), unit_id=unit.id
    )


@bp.route("/units/<int:unit_id>/cards/<int:card_id>/replace", methods=["POST"])
@roles_required(DESK)
def replace_card(unit_id, card_id):
    unit = _unit(unit_id)
    card = _card(unit, card_id)
    form = ReplaceCardForm(prefix=f"replace-{card.id}")
    if not form.validate_on_submit():
        return _refused(unit, form)
    try:
        new = services.replace_card(
            card, form.number.data, form.on.data, actor=current_user, charge=form.charge.data
        )
    except ServiceError as exc:
        return _refused(unit, form, exc)
    if form.charge.data and new.bill is None:
        message = _(
            "Card %(number)s replaces %(old)s. No fee was billed: the estate has no card"
            " replacement fee item.",
            number=new.number,
            old=card.number,
        )
    else:
        message = _("Card %(number)s replaces %(old)s.", number=new.number, old=card.number)
    return _done(".unit", message, unit_id=unit.id)


@bp.route("/units/<int:unit_id>/readings", methods=["POST"])
@roles_required(DESK)
def record_readings(unit_id):
    unit = _unit(unit_id)
    form = ReadingsForm(prefix="readings")
    if not form.validate_on_submit():
        return _refused(unit, form)
    readings = [
        {
            "meter": m.value,
            "value": form[m.value].data.strip(),
            "photo": form[f"{m.value}_photo"].data,
        }
        for m in Meter
        if (form[m.value].data or "").strip()
    ]
    if not readings:
        form.water.errors = [_("Enter at least one meter's figure.")]
        return _refused(unit, form)
    try:
        made = services.record_readings(
            unit, readings, form.on.data, actor=current_user, purpose=form.purpose.data
        )
    except ServiceError as exc:
        return _refused(unit, form, exc)
    return _done(
        ".unit",
        _(
            "Recorded: %(readings)s",
            readings="; ".join(f"{r.meter_enum.label} {r.value}" for r in made),
        ),
        unit_id=unit.id,
    )


@bp.route("/units/<int:unit_id>/keys", methods=["POST"])
@roles_required(DESK)
def take_keys(unit_id):
    unit = _unit(unit_id)
    form = TakeKeysForm(prefix="keys")
    if not form.validate_on_submit():
        return _refused(unit, form)
    try:
        keyset = services.take_keys(
            unit,
            count=form.count.data,
            label=form.label.data,
            actor=current_user,
            on=form.on.data,
            note=form.note.data,
            name=form.name.data,
            phone=form.phone.data,
        )
    except ServiceError as exc:
        return _refused(unit, form, exc)
    return _done(
        ".key_set",
        _("The keys are in custody. Print the custody slip for signatures."),
        key_set_id=keyset.id,
    )


# --- The key register ----------------------------------------------------------------------


@bp.route("/keys")
@roles_required(DESK)
def keys():
    """The key custody register: sets held and lent out, the overdue loans first and
    flagged; filters for held, lent, overdue and handed over. One statement a page."""
    show = request.args.get("show", "")
    show = show if show in FILTERS else ""
    estate_id = acting_estate_id()
    if show == "overdue":
        stmt = services.overdue_keys(current_user, estate_id)
    else:
        stmt = services.register(current_user, estate_id, status=show or None)
    stmt = stmt.options(joinedload(KeySet.unit).joinedload(Unit.building).joinedload(Building.zone))
    page = paginate(stmt, per_page=PER_PAGE, page=request.args.get("page", 1, type=int))
    return render_template(
        "custody/keys.html", page=page, show=show, filters=FILTERS, now=clock.now()
    )


@bp.route("/keys/<int:key_set_id>")
@roles_required(DESK)
def key_set(key_set_id):
    """A key set: where it is, every movement, and the next moves its state allows."""
    return _key_set_page(_key_set(key_set_id))


def _key_set_page(keyset: KeySet, status: int = 200, *, failed=None):
    today = clock.local_today()
    forms = {}
    if keyset.status == KeyStatus.held:
        forms["lend"] = LendKeysForm(prefix="lend", formdata=None, data={"due_on": today})
        forms["hand_over"] = HandOverKeysForm(prefix="hand_over", formdata=None)
    elif keyset.status == KeyStatus.lent:
        forms["take_back"] = TakeBackKeysForm(prefix="take_back", formdata=None)
    if failed is not None:
        forms[failed._prefix.rstrip("-")] = failed
    return render_template(
        "custody/key_set.html", keyset=keyset, movements=keyset.movements, forms=forms
    ), status


def _key_refused(keyset: KeySet, form, exc: ServiceError | None = None):
    db.session.rollback()
    if exc is not None:
        names = {"due_back_at": ("due_on",)}
        candidates = [n for key in exc.fields for n in (*names.get(key, ()), key)]
        target = next((form._fields[n] for n in candidates if n in form._fields), form.submit)
        target.errors = [*target.errors, str(exc.message)]
    return _key_set_page(_key_set(keyset.id), exc.status if exc else 400, failed=form)


@bp.route("/keys/<int:key_set_id>/lend", methods=["POST"])
@roles_required(DESK)
def lend_keys(key_set_id):
    keyset = _key_set(key_set_id)
    form = LendKeysForm(prefix="lend")
    if not form.validate_on_submit():
        return _key_refused(keyset, form)
    try:
        services.lend_keys(
            keyset,
            name=form.name.data,
            phone=form.phone.data,
            reason=form.reason.data,
            due_back_at=form.due_on.data,
            actor=current_user,
        )
    except ServiceError as exc:
        return _key_refused(keyset, form, exc)
    return _done(
        ".key_set", _("The keys are lent to %(name)s.", name=keyset.lent_to), key_set_id=keyset.id
    )


@bp.route("/keys/<int:key_set_id>/return", methods=["POST"])
@roles_required(DESK)
def take_back_keys(key_set_id):
    keyset = _key_set(key_set_id)
    form = TakeBackKeysForm(prefix="take_back")
    if not form.validate_on_submit():
        return _key_refused(keyset, form)
    try:
        services.take_back_keys(keyset, actor=current_user)
    except ServiceError as exc:
        return _key_refused(keyset, form, exc)
    return _done(".key_set", _("The keys are back in custody."), key_set_id=keyset.id)


@bp.route("/keys/<int:key_set_id>/hand-over", methods=["POST"])
@roles_required(DESK)
def hand_over_keys(key_set_id):
    keyset = _key_set(key_set_id)
    form = HandOverKeysForm(prefix="hand_over")
    if not form.validate_on_submit():
        return _key_refused(keyset, form)
    try:
        services.hand_over_keys(
            keyset, name=form.name.data, phone=form.phone.data, actor=current_user
        )
    except ServiceError as exc:
        return _key_refused(keyset, form, exc)
    return _done(".key_set", _("The keys are handed over; custody ends."), key_set_id=keyset.id)


@bp.route("/keys/<int:key_set_id>/slip.pdf")
@roles_required(DESK)
def custody_slip(key_set_id):
    """The custody slip (钥匙保管单) to print and sign."""
    return printing.custody_slip(_key_set(key_set_id))


@bp.route("/keys/<int:key_set_id>/loans/<int:movement_id>.pdf")
@roles_required(DESK)
def lending_slip(key_set_id, movement_id):
    """The lending slip (钥匙借用单) of one loan, signed by the borrower."""
    keyset = _key_set(key_set_id)
    movement = get_or_404(
        KeyMovement,
        movement_id,
        scope=(KeyMovement.key_set_id == keyset.id) & (KeyMovement.action == "lent"),
    )
    return printing.lending_slip(keyset, movement)
