"""Complaints, inquiries and suggestions: residents file and follow them; staff work the loop."""

import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import with_expression
from wtforms.fields.choices import SelectChoice

from portal.blueprints.complaints import services
from portal.blueprints.complaints.forms import ComplaintForm
from portal.blueprints.complaints.models import STATE_LABELS, Category, Complaint, State
from portal.blueprints.complaints.workflow import COMPLAINT
from portal.blueprints.tickets import (
    ActionForm,
    action_data,
    fill_intake_choices,
    flash_refusal,
)
from portal.core import idempotency, uploads, workflow
from portal.core.access import EVERYONE, as_id, get_or_404, roles_required, staff_of
from portal.core.errors import ServiceError
from portal.core.paging import paginate
from portal.core.people import User
from portal.core.places import Estate
from portal.core.units import labels_for
from portal.core.visits import RESULT_LABELS
from portal.extensions import db

bp = Blueprint("complaints", __name__)
PER_PAGE = 30
ACTION_LABELS = {
    "submit": lazy_pgettext("ticket state", "Registered"),
    "assess": _l("Assessed"),
    "answer": _l("Answered"),
    "investigate": _l("Investigated"),
    "propose": _l("Plan proposed"),
    "approve": _l("Plan approved"),
    "send-back": _l("Plan sent back"),
    "resolve": _l("Resolved"),
    "respond": _l("Resident's response"),
    "return-visit": _l("Return visit"),
    "close": _l("Closed"),
    "progress-reply": _l("Progress reply"),
    "hand-over": _l("Handed over"),
}
DONE_MESSAGES = {
    "assess": _l("Assessment recorded."),
    "answer": _l("Answer sent; closed."),
    "investigate": _l("Investigation recorded."),
    "propose": _l("Plan proposed; waiting for the supervisor's approval."),
    "approve": _l("Plan approved."),
    "send-back": _l("Plan sent back."),
    "resolve": _l("Resolution recorded; the resident is told."),
    "respond": _l("Thank you for your answer."),
    "return-visit": _l("Return visit recorded."),
    "close": _l("Complaint closed."),
    "progress-reply": _l("Progress reply sent."),
    "hand-over": _l("Handed over."),
}


def state_label(value):
    return STATE_LABELS[State(value)]


def recent_repairs(actor, unit_id, limit=10):
    """The repairs a complaint may be about: the unit's (or, for a resident, their own)."""
    from portal.blueprints.repairs.services import repairs_for

    if actor.is_staff and not unit_id:
        return []
    return db.session.scalars(repairs_for(actor, unit_id=unit_id).limit(limit)).all()


@bp.route("/")
@roles_required(EVERYONE)
def index():
    """Residents: what I filed. Staff: the estate's complaints, with filters."""
    status, category = request.args.get("status") or None, request.args.get("category") or None
    due = request.args.get("due") if request.args.get("due") in services.DUE_FILTERS else None
    thumbnail = with_expression(Complaint.first_photo_id, uploads.first_photo(Complaint))
    stmt = services.complaints_for(current_user, status=status, category=category, due=due)
    page = paginate(stmt.options(thumbnail), per_page=PER_PAGE)
    return render_template(
        "complaints/index.html",
        page=page,
        status=status,
        category=category,
        due=due,
        STATE_LABELS=STATE_LABELS,
        Category=Category,
        labels=labels_for([c.unit_id for c in page.items if c.unit_id]),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(EVERYONE)
def new():
    """File a complaint, inquiry or suggestion, or register one for a caller or walk-in."""
    form = ComplaintForm()
    staff = current_user.is_staff
    unit_id = request.args.get("unit", type=as_id) or form.unit.data
    fill_intake_choices(form, current_user, unit_id)
    form.repair.choices = [SelectChoice(0, _("None"))] + [
        SelectChoice(r.id, f"{r.number} · {r.category_enum.label}")
        for r in recent_repairs(current_user, unit_id)
    ]
    if not form.is_submitted():
        form.idempotency_key.data = idempotency.new_key()
    if form.validate_on_submit():
        key = form.idempotency_key.data or None
        earlier = idempotency.find(Complaint, current_user, key)
        if earlier is not None:  # the form again (a double tap, Back): its first complaint
            return registered_before(earlier)
        try:
            photos = uploads.check_images(form.photos.data or [], limit=uploads.MAX_PHOTOS)
            complaint = services.register_complaint(
                current_user,
                kind=form.kind.data,
                category=form.category.data,
                content=form.content.data,
                unit_id=form.unit.data or None,
                channel=form.channel.data if staff else None,
                reporter_id=form.reporter.data if staff else None,
                repair_id=form.repair.data or None,
                idempotency_key=key,
            )
            if complaint.replayed:
                return registered_before(complaint)
            uploads.store(photos, entity=complaint, purpose="report", actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            field = {"unit_id": "unit", "reporter_id": "reporter"}.get(
                next(iter(exc.fields), "content"), next(iter(exc.fields), "content")
            )
            getattr(form, field, form.content).errors.append(str(exc.message))
            status = 400 if exc.status == 404 else exc.status  # a field at fault, on the form
            return render_template("complaints/new.html", form=form, staff=staff), status
        else:
            db.session.commit()
            flash(
                _("%(n)s registered. We will reply within 48 hours.", n=complaint.number), "success"
            )
            return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return render_template(
        "complaints/new.html", form=form, staff=staff
    ), 400 if form.errors else 200


def registered_before(complaint: Complaint):
    """A form sent again leads to the complaint it made the first time."""
    flash(_("%(n)s was already registered.", n=complaint.number), "info")
    return redirect(url_for("complaints.detail", complaint_id=complaint.id))


@bp.route("/<int:complaint_id>")
@login_required
def detail(complaint_id):
    """A complaint with its loop so far and the actions the caller may take now."""
    complaint = get_or_404(Complaint, complaint_id)
    events = workflow.history(complaint)
    wanted = (
        {e.actor_id for e in events}
        | {complaint.reporter_id, complaint.owner_id}
        | {(e.data or {}).get("to_user_id") for e in events}
    )
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted - {None})))}
    allowed = COMPLAINT.allowed(complaint, current_user)
    colleagues = (
        [u for u in staff_of(complaint.estate_id) if u.id != current_user.id]
        if "hand-over" in allowed
        else []
    )
    return render_template(
        "complaints/detail.html",
        complaint=complaint,
        events=events,
        people=people,
        allowed=allowed,
        form=ActionForm(),
        colleagues=colleagues,
        state_label=state_label,
        action_labels=ACTION_LABELS,
        visit_labels=RESULT_LABELS,
        unit_label=labels_for([complaint.unit_id]).get(complaint.unit_id)
        if complaint.unit_id
        else None,
        category=Category(complaint.category),
        photos=uploads.files_of(complaint),
    )


@bp.route("/<int:complaint_id>/act/<action>", methods=["POST"])
@login_required
def act(complaint_id, action):
    """Take one step of the loop with the fields of its form."""
    complaint = get_or_404(Complaint, complaint_id)
    data = action_data(numbers=("to_user_id",), booleans=("valid", "accepted"))
    if data.get("next_reply_at"):  # a datetime-local field, in estate time
        estate = db.session.get(Estate, complaint.estate_id)
        with contextlib.suppress(ValueError):  # if unreadable, the schema names the field
            data["next_reply_at"] = (
                datetime.fromisoformat(data["next_reply_at"])
                .replace(tzinfo=ZoneInfo(estate.timezone))
                .isoformat()
            )
    try:
        services.act(complaint, action, actor=current_user, data=data)
    except ServiceError as exc:
        db.session.rollback()
        flash_refusal(exc)
    else:
        db.session.commit()
        flash(DONE_MESSAGES.get(action, _("Done.")), "success")
    return redirect(url_for("complaints.detail", complaint_id=complaint_id), 303)
