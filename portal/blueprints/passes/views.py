"""Pass pages: residents ask on a phone and show the QR; the owner approves a tenant's goods
pass; the desk lists, issues, approves and revokes; the guard checks at the gate."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.core import clock
from portal.core.access import DESK, GATE, RESIDENTS, as_id, get_or_404, roles_required
from portal.core.downloads import pdf_response
from portal.core.errors import ServiceError
from portal.core.paging import paginate
from portal.core.people import User
from portal.core.places import Unit
from portal.core.units import labels_for, search_units
from portal.extensions import db
from portal.security import pass_check_limit

from . import services
from .forms import ApproveForm, CheckForm, PassForm, RevokeForm, parse_items, parse_people
from .models import (
    KIND_LABELS,
    RESULT_LABELS,
    STATUS_LABELS,
    Kind,
    Pass,
    PassCheck,
    Result,
    Status,
)
from .printing import pass_pdf, qr_data_uri

bp = Blueprint("passes", __name__)
PER_PAGE = 30
ASKERS = RESIDENTS | DESK
CAMERA_HERE = "camera=(self), microphone=(), geolocation=()"
FORM_FIELDS = {
    "valid_from": "valid_from",
    "valid_until": "valid_until",
    "items": "items",
    "people": "people",
    "plate": "plate",
    "kind": "kind",
    "unit_id": "unit",
}


def _tz() -> str:
    estate = current_user.estate
    return estate.timezone if estate is not None else "Asia/Shanghai"


def _day_arg() -> date | None:
    text = request.args.get("day") or ""
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


@bp.route("/")
@roles_required(ASKERS)
def index():
    """Residents: my units' passes and the tenants' requests I approve. Desk: the estate's
    passes, by kind, status and day."""
    kind = request.args.get("kind") if request.args.get("kind") in set(Kind) else None
    status = request.args.get("status") if request.args.get("status") in set(Status) else None
    day = _day_arg()
    stmt = services.passes_for(current_user, kind=kind, status=status, day=day, tz=_tz())
    page = paginate(stmt, per_page=PER_PAGE)
    approvals = (
        []
        if current_user.is_staff
        else db.session.scalars(services.awaiting_owner(current_user).limit(20)).all()
    )
    unit_ids = {p.unit_id for p in page.items} | {p.unit_id for p in approvals}
    return render_template(
        "passes/index.html",
        page=page,
        approvals=approvals,
        labels=labels_for(unit_ids) if unit_ids else {},
        kind=kind,
        status=status,
        day=day,
        Kind=Kind,
        Status=Status,
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        approve_form=ApproveForm(),
    )


def _prepare(form: PassForm, fixed_unit: Unit | None) -> None:
    staff = current_user.is_staff
    kinds = list(Kind) if staff else [Kind.goods, Kind.visitor]
    form.kind.choices = [SelectChoice(k.value, KIND_LABELS[k]) for k in kinds]
    if staff:
        del form.unit
        if fixed_unit is not None and not form.is_submitted():
            form.room.data = labels_for([fixed_unit.id]).get(fixed_unit.id, "")
        form.submit.label.text = _("Issue the pass")
    else:
        del form.room
        form.unit.choices = [
            SelectChoice(uid, label)
            for uid, label in labels_for(current_user.current_unit_ids).items()
        ]
    if not form.is_submitted():
        now = clock.now().astimezone(ZoneInfo(_tz())).replace(second=0, microsecond=0)
        form.valid_from.data = now.replace(tzinfo=None)
        form.valid_until.data = (now.replace(hour=23, minute=59)).replace(tzinfo=None)


def _unit_of(form: PassForm, fixed_unit: Unit | None) -> Unit:
    """The unit the form names: a resident's choice, the page's unit or the room typed."""
    if fixed_unit is not None:
        return fixed_unit
    if not current_user.is_staff:
        if not form.unit.data:
            raise ServiceError(_("Choose the unit of the pass."), fields={"unit_id": "required"})
        return get_or_404(Unit, form.unit.data)
    room = (form.room.data or "").strip()
    if not room:
        raise ServiceError(_("Type the room, such as 1-1-101."), fields={"room": "required"})
    found = db.session.scalars(search_units(current_user, q=room).limit(2)).all()
    if len(found) != 1:
        message = _("No unit matches this room.") if not found else _("Several units match.")
        raise ServiceError(message, fields={"room": "not_one"})
    return found[0]


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=ZoneInfo(_tz())) if value is not None else None


@bp.route("/new", methods=["GET", "POST"])
@roles_required(ASKERS)
def new():
    """Ask for a goods or visitor pass (a resident on a phone) or issue one (the desk; a
    unit's page links here with ?unit=)."""
    unit_arg = request.args.get("unit", type=as_id)
    fixed_unit = get_or_404(Unit, unit_arg) if unit_arg and current_user.is_staff else None
    form = PassForm()
    _prepare(form, fixed_unit)
    if form.validate_on_submit():
        try:
            unit = _unit_of(form, fixed_unit)
            pass_ = services.issue_pass(
                kind=form.kind.data,
                unit=unit,
                valid_from=_aware(form.valid_from.data),
                valid_until=_aware(form.valid_until.data),
                actor=current_user,
                items=parse_items(form.items.data) if form.kind.data == Kind.goods else None,
                people=parse_people(form.people.data),
                plate=form.plate.data,
            )
        except ServiceError as exc:
            db.session.rollback()
            field = FORM_FIELDS.get(next(iter(exc.fields), ""), next(iter(exc.fields), "kind"))
            target = getattr(form, field, None) or form.kind
            target.errors = [*target.errors, str(exc.message)]
            status = 400 if exc.status == 404 else exc.status
            return render_template("passes/new.html", form=form), status
        db.session.commit()
        if pass_.status == Status.pending:
            flash(
                _(
                    "Pass %(n)s asked for: the owner or the service centre approves it.",
                    n=pass_.number,
                ),
                "info",
            )
        else:
            flash(_("Pass %(n)s issued.", n=pass_.number), "success")
        return redirect(url_for("passes.detail", pass_id=pass_.id), 303)
    return render_template("passes/new.html", form=form), 400 if form.errors else 200


def get_pass_or_404(pass_id) -> Pass:
    """A pass of the caller's units (residents) or estate (the desk), else 404."""
    return get_or_404(Pass, pass_id)


@bp.route("/<int:pass_id>")
@roles_required(ASKERS)
def detail(pass_id):
    """A pass: its QR to show at the gate, its window, goods or people, and its checks."""
    pass_ = get_pass_or_404(pass_id)
    checks = (
        services.check_rows(
            services.checks_for(current_user).where(PassCheck.pass_id == pass_.id).limit(20)
        )
        if current_user.is_staff
        else []
    )
    people = {
        u.id: u.name
        for u in db.session.execute(
            select(User.id, User.name).where(
                User.id.in_({pass_.requested_by_id, pass_.approved_by_id} - {None})
            )
        )
    }
    return render_template(
        "passes/detail.html",
        pass_=pass_,
        unit_label=labels_for([pass_.unit_id]).get(pass_.unit_id, ""),
        qr=qr_data_uri(pass_),
        result=pass_.result_at(),
        result_labels=RESULT_LABELS,
        people=people,
        checks=checks,
        can_approve=services.can_approve(current_user, pass_),
        can_revoke=services.can_revoke(current_user, pass_),
        approve_form=ApproveForm(),
        revoke_form=RevokeForm(),
    )


@bp.route("/<int:pass_id>/approve", methods=["POST"])
@roles_required(ASKERS)
def approve(pass_id):
    """The owner or the desk approves a tenant's goods pass."""
    pass_ = get_pass_or_404(pass_id)
    if not ApproveForm().validate_on_submit():
        return redirect(url_for("passes.detail", pass_id=pass_id), 303)
    try:
        services.approve_pass(pass_, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("passes.detail", pass_id=pass_id), 303)
    db.session.commit()
    flash(_("Pass %(n)s approved.", n=pass_.number), "success")
    return redirect(url_for("passes.detail", pass_id=pass_id), 303)


@bp.route("/<int:pass_id>/revoke", methods=["POST"])
@roles_required(ASKERS)
def revoke(pass_id):
    """Revoke a pass, saying why; the gate refuses it from now on."""
    pass_ = get_pass_or_404(pass_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "danger")
        return redirect(url_for("passes.detail", pass_id=pass_id), 303)
    try:
        services.revoke_pass(pass_, actor=current_user, reason=form.reason.data)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("passes.detail", pass_id=pass_id), 303)
    db.session.commit()
    flash(_("Pass %(n)s revoked.", n=pass_.number), "success")
    return redirect(url_for("passes.detail", pass_id=pass_id), 303)


@bp.route("/<int:pass_id>.pdf")
@roles_required(ASKERS)
def pdf(pass_id):
    """The printable pass with its QR code."""
    pass_ = get_pass_or_404(pass_id)
    return pdf_response(pass_pdf(pass_), f"{pass_.number}.pdf")


@bp.route("/check", methods=["GET", "POST"])
@roles_required(GATE)
@pass_check_limit
def check():
    """The gate on a phone: type a code or pass number (or scan the QR where the browser can)
    and read the answer in large words; every check is logged."""
    form = CheckForm()
    result = pass_ = None
    if form.validate_on_submit():
        try:
            result, pass_ = services.check_pass(form.code.data, actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            form.code.errors = [*form.code.errors, str(exc.message)]
        else:
            db.session.commit()  # the check is logged whatever it found
            form = CheckForm(formdata=None)
    latest = services.check_rows(
        services.checks_for(current_user, day=clock.local_today(_tz()), tz=_tz(), mine=True).limit(
            10
        )
    )
    response = make_response(
        render_template(
            "passes/check.html",
            form=form,
            result=result,
            pass_=pass_,
            unit_label=labels_for([pass_.unit_id]).get(pass_.unit_id, "") if pass_ else "",
            result_labels=RESULT_LABELS,
            latest=latest,
            Result=Result,
        ),
        400 if form.errors else 200,
    )
    # The one page that may open the camera (to scan a QR code); every other page keeps the
    # portal's camera=() (security.add_security_headers only fills in what a view left out).
    response.headers["Permissions-Policy"] = CAMERA_HERE
    return response


@bp.route("/checks")
@roles_required(GATE)
def checks():
    """The log of checks at the estate's gates, newest first, for one day."""
    day = _day_arg() or clock.local_today(_tz())
    stmt = services.checks_for(current_user, day=day, tz=_tz())
    page = paginate(stmt.with_only_columns(PassCheck.id), per_page=PER_PAGE)
    rows = (
        services.check_rows(select(PassCheck).where(PassCheck.id.in_(page.items)))
        if page.items
        else []
    )
    return render_template(
        "passes/checks.html", page=page, rows=rows, day=day, result_labels=RESULT_LABELS
    )
