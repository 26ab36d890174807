"""Renovation pages: the owner applies and follows on a phone, the desk registers for an
owner, the engineers review and the supervisor or manager decides; the permit prints."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal.blueprints.fees.models import COUNTER_METHODS, METHOD_LABELS
from portal.blueprints.passes.models import STATUS_LABELS as PASS_STATUS_LABELS
from portal.blueprints.tickets import ActionForm, action_data, flash_refusal
from portal.core import idempotency, workflow
from portal.core.access import (
    EVERYONE,
    acting_estate_id,
    as_id,
    get_or_404,
    may_open,
    roles_required,
    visible,
)
from portal.core.errors import ServiceError
from portal.core.paging import paginate
from portal.core.places import Occupancy, Unit
from portal.core.units import labels_for, search_rows
from portal.core.workflow import InvalidInput
from portal.extensions import db

from . import services
from .forms import ApplicationForm
from .models import SCOPE_LABELS, STATE_LABELS, Renovation
from .rules import STATEMENT, hours_text
from .workflow import APPLICANTS, RENOVATION, STEP_LABELS

bp = Blueprint("renovation", __name__)
PER_PAGE = 30
DONE = {
    "review": _l("Review recorded."),
    "send-back": _l("Sent back to the applicant."),
    "resubmit": _l("Resubmitted for review."),
    "approve": _l("Approved: the fees are billed and the workers' passes issued."),
    "reject": _l("Rejected."),
    "cancel": _l("Cancelled."),
    "inspect": _l("Inspection recorded."),
    "rectify": _l("The violation is closed."),
    "postpone": _l("Postponed: the workers' passes are extended."),
    "suspend": _l("Works suspended: the workers' passes are revoked."),
    "resume": _l("Works resumed: new passes issued for the rest of the window."),
    "hidden-works": _l("Hidden-works acceptance recorded."),
    "accept": _l("Completion acceptance recorded."),
}
ROWS = 3  # deduction rows on the acceptance form
OCCUPANCY_DONE = {
    "set": _l("The unit is under renovation from the start day."),
    "already": _l("The unit was already under renovation."),
    "scheduled": _l("The unit will be under renovation from the start day."),
}


@bp.route("/")
@roles_required(EVERYONE)
def index():
    """Renovations: a resident's own units', the estate's for staff; newest first."""
    status = request.args.get("status") if request.args.get("status") in STATE_LABELS else None
    page = paginate(services.list_for(current_user, status=status), per_page=PER_PAGE)
    return render_template(
        "renovation/index.html",
        page=page,
        status=status,
        states=STATE_LABELS,
        labels=labels_for([r.unit_id for r in page.items]),
        may_apply=current_user.role in APPLICANTS,
    )


def _fill_unit(form, unit_id) -> None:
    if not current_user.is_staff:
        form.unit.choices = list(labels_for(current_user.current_unit_ids).items())
        return
    seen = None
    if unit_id:
        seen = db.session.scalar(
            select(Unit.id).where(Unit.id == unit_id, visible(Unit, current_user))
        )
    form.unit.choices = [(seen, labels_for([seen]).get(seen, ""))] if seen else []
    if seen:
        form.unit.data = seen


def _chosen_unit(form) -> int:
    if form.unit.data:
        return form.unit.data
    place = (form.place.data or "").strip()
    found = []
    if place and current_user.is_staff:
        found = db.session.execute(search_rows(current_user, q=place).limit(2)).all()
    if len(found) != 1:
        message = _l("Name one unit: its room, e.g. 1-1-101.")
        raise InvalidInput(message, fields={"place": str(message)})
    return found[0].id


def _show_errors(form, exc: ServiceError) -> list[tuple[str, str]]:
    """Each message beside its field (a worker's beside the row's field); the rest loose."""
    loose = []
    for key, value in exc.fields.items():
        message = value if isinstance(exc, InvalidInput) else str(exc.message)
        parts = key.split(".")
        name = {"unit_id": "unit"}.get(parts[0], parts[0])
        if name == "unit" and not form.unit.choices:
            name = "place"
        if name == "workers" and len(parts) == 3 and parts[1].isdigit():
            row = int(parts[1])
            if row < len(form.workers.entries) and parts[2] in form.workers[row].form:
                form.workers[row].form[parts[2]].errors = [message]
                continue
        if name in form and name not in ("csrf_token", "workers"):
            form[name].errors = [message]
        else:
            loose.append((name, message))
    return loose or [("form", str(exc.message))]


def _submit(form, key):
    workers = [
        {"name": r.form.name.data, "id_number": r.form.id_number.data, "phone": r.form.phone.data}
        for r in form.workers
        if any((f.data or "").strip() for f in r.form)
    ]
    return services.submit_renovation(
        current_user,
        unit_id=_chosen_unit(form),
        contractor=form.contractor.data,
        contractor_licence=form.contractor_licence.data,
        foreman=form.foreman.data,
        foreman_phone=form.foreman_phone.data,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        scope=form.scope.data,
        workers=workers,
        hours_accepted=form.hours_accepted.data,
        statement_signed=form.statement_signed.data,
        drawings=request.files.getlist("drawings"),
        idempotency_key=key,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(APPLICANTS)
def new():
    """Apply for a renovation (the owner), or register one for the owner (the desk)."""
    form = ApplicationForm()
    _fill_unit(form, request.args.get("unit", type=as_id) or form.unit.data)
    if not form.is_submitted():
        form.idempotency_key.data = idempotency.new_key()
    loose, status = [], 200
    if form.validate_on_submit():
        key = form.idempotency_key.data or None
        renovation = idempotency.find(Renovation, current_user, key)
        if renovation is None:
            try:
                renovation = _submit(form, key)
            except ServiceError as exc:
                db.session.rollback()
                loose = _show_errors(form, exc)
                status = exc.status if exc.status in (403, 409, 413) else 400
            else:
                db.session.commit()
                flash(_("Renovation %(n)s submitted.", n=renovation.number), "success")
        if not loose:
            return redirect(url_for(".detail", renovation_id=renovation.id), 303)
    elif form.errors:
        status = 400
    estate_id = acting_estate_id(current_user)
    return (
        render_template(
            "renovation/new.html",
            form=form,
            loose=loose,
            statement=STATEMENT,
            hours=hours_text(estate_id) if estate_id else "",
        ),
        status,
    )


@bp.route("/<int:renovation_id>")
@roles_required(EVERYONE)
def detail(renovation_id):
    """A renovation with its workers, passes, deposit, drawings, steps and actions."""
    renovation = get_or_404(Renovation, renovation_id)
    events = workflow.history(renovation)
    people = services.people_named(
        {e.actor_id for e in events}
        | {renovation.owner_id, renovation.applicant_id, renovation.approved_by_id}
    )
    return render_template(
        "renovation/detail.html",
        renovation=renovation,
        unit_label=labels_for([renovation.unit_id]).get(renovation.unit_id, ""),
        events=events,
        people=people,
        allowed=RENOVATION.allowed(renovation, current_user),
        form=ActionForm(),
        passes=services.passes_of(renovation),
        deposit=services.deposit_of(renovation),
        drawings=services.drawings_of(renovation),
        scope_labels=SCOPE_LABELS,
        state_label=lambda value: STATE_LABELS.get(value, value),
        action_labels=STEP_LABELS,
        occupancy_done=OCCUPANCY_DONE,
        works=services.works_of(renovation),
        refund=services.refund_of(renovation),
        # The refund slip prints for the desk (fees.refund_slip's gate), not every staff role.
        may_print_refund=may_open(current_user, current_app.view_functions["fees.refund_slip"]),
        pass_status=PASS_STATUS_LABELS,
        deduction_rows=_deduction_rows(),
        method_choices={m.value: METHOD_LABELS[m] for m in COUNTER_METHODS},
        occupancy_choices={o.value: o.label for o in AFTER_WORKS},
        violation_labels=VIOLATION_TYPES,
    )


# What the occupancy may become at the completion acceptance (the first is the default).
AFTER_WORKS = (Occupancy.renovated_vacant, Occupancy.occupied_renovated)
VIOLATION_TYPES = {
    "hours": _l("Working outside the permitted hours"),
    "structure": _l("Load-bearing structure or facade altered"),
    "debris": _l("Debris left in common areas"),
    "fire": _l("Fire safety"),
    "other": _l("Other violation"),
}


def _deduction_rows() -> list[tuple[str, str]]:
    """The acceptance form's deduction rows: what was typed after a refusal, else empty."""
    reasons = request.form.getlist("deduction_reason") if request.method == "POST" else []
    amounts = request.form.getlist("deduction_amount") if request.method == "POST" else []
    rows = list(zip(reasons, amounts, strict=False))
    return rows + [("", "")] * max(ROWS - len(rows), 0)


def _action_input(action: str) -> dict:
    data = action_data()
    if action == "review":
        lines = (request.form.get("required_changes") or "").splitlines()
        data["required_changes"] = [line.strip() for line in lines if line.strip()]
    if action in ("hidden-works", "accept"):
        data["passed"] = request.form.get("passed") in ("1", "y", "true", "on")
    if action == "accept":
        data.pop("deduction_reason", None)
        data.pop("deduction_amount", None)
        rows = zip(
            request.form.getlist("deduction_reason"),
            request.form.getlist("deduction_amount"),
            strict=False,
        )
        data["deductions"] = [
            {"reason": r.strip(), "amount": a.strip()} for r, a in rows if r.strip() or a.strip()
        ]
    return data


@bp.route("/<int:renovation_id>/act/<action>", methods=["POST"])
@roles_required(EVERYONE)
def act(renovation_id, action):
    """Take one step of a renovation with the fields of its form."""
    renovation = get_or_404(Renovation, renovation_id)
    try:
        services.act(renovation, action, actor=current_user, data=_action_input(action))
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash_refusal(exc)
        return redirect(url_for(".detail", renovation_id=renovation_id), 303)
    db.session.commit()
    flash(str(DONE.get(action, _("Done."))), "success")
    return redirect(url_for(".detail", renovation_id=renovation_id), 303)


@bp.route("/<int:renovation_id>/permit.pdf")
@roles_required(EVERYONE)
def permit(renovation_id):
    """The renovation permit (装修许可证) to post at the door, once approved."""
    from .printing import permit_pdf

    renovation = get_or_404(Renovation, renovation_id)
    if renovation.approved_at is None:
        abort(404)
    pdf = permit_pdf(renovation)
    return (
        pdf,
        200,
        {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'inline; filename="{renovation.number}.pdf"',
        },
    )


@bp.route("/<int:renovation_id>/acceptance.pdf")
@roles_required(EVERYONE)
def acceptance(renovation_id):
    """The acceptance form (工程验收单): the inspections, hidden works and the completion
    acceptance so far, once the works were approved."""
    from .printing import acceptance_pdf

    renovation = get_or_404(Renovation, renovation_id)
    if renovation.approved_at is None:
        abort(404)
    return (
        acceptance_pdf(renovation),
        200,
        {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'inline; filename="{renovation.number}-acceptance.pdf"',
        },
    )
