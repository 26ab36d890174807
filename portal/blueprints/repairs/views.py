"""Repairs: residents report and follow them, staff register, dispatch, work and visit."""

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
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import load_only, with_expression

from portal.blueprints.repairs import services
from portal.blueprints.repairs.forms import RepairForm
from portal.blueprints.repairs.models import Category, Repair, State
from portal.blueprints.repairs.workflow import REPAIR
from portal.blueprints.tickets import (
    ActionForm,
    action_data,
    fill_intake_choices,
    flash_refusal,
)
from portal.core import idempotency, uploads, workflow
from portal.core import visits as return_visits
from portal.core.access import (
    EVERYONE,
    READERS,
    SUPERVISORS,
    as_id,
    get_or_404,
    roles_required,
    staff_required,
)
from portal.core.downloads import pdf_response
from portal.core.errors import ServiceError
from portal.core.paging import paginate
from portal.core.people import Role, User
from portal.core.places import Estate
from portal.core.units import labels_for, residents_of
from portal.core.visits import RESULT_LABELS
from portal.extensions import db
from portal.pdf import render_pdf

bp = Blueprint("repairs", __name__)
PER_PAGE = 30


ACTION_LABELS = {
    "submit": _l("Repair reported"),
    "assign": _l("Dispatched"),
    "reassign": _l("Reassigned"),
    "start": _l("Work started"),
    "complete": _l("Completed"),
    "confirm": _l("Confirmed and rated"),
    "reopen": _l("Reopened: not fixed"),
    "cancel": _l("Cancelled"),
    "return-visit": _l("Return visit"),
    "review": _l("Reviewed"),
    "urge": _l("Urged"),
}
DONE_MESSAGES = {
    "assign": _l("Dispatched."),
    "reassign": _l("Reassigned."),
    "start": _l("Work started."),
    "complete": _l("Completed; the resident is asked to confirm."),
    "confirm": _l("Thank you for your rating!"),
    "reopen": _l("Reopened; we will send a technician again."),
    "cancel": _l("The repair is cancelled."),
    "return-visit": _l("Return visit recorded."),
    "review": _l("Review recorded."),
    "urge": _l("We have reminded the technician and the supervisor."),
}


def get_repair_or_404(repair_id) -> Repair:
    """A repair in the caller's scope (their units, or their estate), else 404."""
    return get_or_404(Repair, repair_id)


@bp.route("/")
@roles_required(EVERYONE)
def index():
    """Residents: my repairs. Technicians: my orders by due time. Staff: all, with the board."""
    mine = current_user.role == Role.technician
    status = request.args.get("status") or None
    category = request.args.get("category") or None
    due = request.args.get("due") if request.args.get("due") in services.DUE_FILTERS else None
    stmt = services.repairs_for(
        current_user, status=status, category=category, assigned_to_me=mine, due=due
    )
    if mine and not status:
        stmt = stmt.where(Repair.status.in_([State.assigned, State.in_progress]))
    # The list reads the columns its rows show, not the descriptions of work done.
    listed = load_only(
        Repair.number,
        Repair.category,
        Repair.status,
        Repair.description,
        Repair.unit_id,
        Repair.due_at,
        Repair.created_at,
        Repair.urgent,
    )
    thumbnail = with_expression(Repair.first_photo_id, uploads.first_photo(Repair))
    page = paginate(stmt.options(listed, thumbnail), per_page=PER_PAGE)
    return render_template(
        "repairs/index.html",
        page=page,
        status=status,
        category=category,
        due=due,
        mine=mine,
        labels=labels_for([r.unit_id for r in page.items if r.unit_id]),
        board=services.board(current_user) if current_user.role in SUPERVISORS else None,
        State=State,
        Category=Category,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(EVERYONE - {Role.inspector})
def new():
    """Report a repair (resident on a phone) or register one for a caller or a patrol."""
    form = RepairForm()
    staff = current_user.is_staff
    unit_id = request.args.get("unit", type=as_id) or form.unit.data
    fill_intake_choices(form, current_user, unit_id)
    if not form.is_submitted():
        form.idempotency_key.data = idempotency.new_key()
    if form.validate_on_submit():
        key = form.idempotency_key.data or None
        earlier = idempotency.find(Repair, current_user, key)
        if earlier is not None:  # the form again (a double tap, Back): its first repair
            return received_before(earlier)
        try:
            photos = uploads.check_images(form.photos.data or [], limit=uploads.MAX_PHOTOS)
            repair = services.submit_repair(
                current_user,
                category=form.category.data,
                location=form.location.data,
                description=form.description.data,
                unit_id=form.unit.data or None,
                channel=form.channel.data if staff else None,
                urgent=form.urgent.data,
                preferred_time=form.preferred_time.data,
                reporter_id=form.reporter.data if staff else None,
                idempotency_key=key,
            )
            if repair.replayed:
                return received_before(repair)
            uploads.store(photos, entity=repair, purpose="report", actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            field = {"unit_id": "unit", "reporter_id": "reporter"}.get(
                next(iter(exc.fields), "description"), next(iter(exc.fields), "description")
            )
            getattr(form, field, form.description).errors.append(str(exc.message))
            status = 400 if exc.status == 404 else exc.status  # a field at fault, on the form
            return render_template("repairs/new.html", form=form, staff=staff), status
        db.session.commit()
        flash(_("Repair %(n)s received.", n=repair.number), "success")
        return redirect(url_for("repairs.detail", repair_id=repair.id))
    return render_template("repairs/new.html", form=form, staff=staff), 400 if form.errors else 200


def received_before(repair: Repair):
    """A form sent again leads to the repair it made the first time."""
    flash(_("Repair %(n)s was already received.", n=repair.number), "info")
    return redirect(url_for("repairs.detail", repair_id=repair.id))


@bp.route("/<int:repair_id>")
@login_required
def detail(repair_id):
    """A repair's timeline, photos and the actions the caller may take now."""
    repair = get_repair_or_404(repair_id)
    events = workflow.history(repair)
    wanted = (
        {e.actor_id for e in events}
        | {repair.reporter_id, repair.owner_id}
        | {(e.data or {}).get("technician_id") for e in events}
    )
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted - {None})))}
    allowed = REPAIR.allowed(repair, current_user)
    return render_template(
        "repairs/detail.html",
        repair=repair,
        events=events,
        people=people,
        allowed=allowed,
        photos=uploads.files_of(repair),
        form=ActionForm(),
        technicians=services.technicians_for(repair)
        if {"assign", "reassign"} & set(allowed)
        else [],
        visits=return_visits.visits_of("repair", repair.id),
        unit_label=labels_for([repair.unit_id]).get(repair.unit_id) if repair.unit_id else None,
        visit_due=repair.visit_due_at,
        State=State,
        action_labels=ACTION_LABELS,
        state_label=lambda value: State(value).label,
        visit_labels=RESULT_LABELS,
    )


@bp.route("/<int:repair_id>/act/<action>", methods=["POST"])
@login_required
def act(repair_id, action):
    """Take one workflow action with the fields of its form."""
    repair = get_repair_or_404(repair_id)
    data = action_data(numbers=("technician_id", "rating"))
    try:
        photos = (
            uploads.check_images(
                request.files.getlist("photos"),
                limit=uploads.MAX_PHOTOS - uploads.count_of(repair, "completion"),
            )
            if action == "complete"
            else []
        )
        services.act(repair, action, actor=current_user, data=data)
        uploads.store(photos, entity=repair, purpose="completion", actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash_refusal(exc)
        return redirect(url_for("repairs.detail", repair_id=repair_id), 303)
    db.session.commit()
    flash(DONE_MESSAGES.get(action, _("Done.")), "success")
    return redirect(url_for("repairs.detail", repair_id=repair_id), 303)


@bp.route("/<int:repair_id>/work-order.pdf")
@staff_required
def work_order(repair_id):
    """The printable work order (派工单) to take to the job."""
    repair = get_repair_or_404(repair_id)
    pdf = render_pdf(
        "repairs/work_order.html",
        repair=repair,
        unit_label=labels_for([repair.unit_id]).get(repair.unit_id) if repair.unit_id else None,
        residents=residents_of([repair.unit_id]) if repair.unit_id else [],
        estate=db.session.get(Estate, repair.estate_id),
    )
    return pdf_response(pdf, f"{repair.number}.pdf")


@bp.route("/visits")
@roles_required(READERS)
def visits():
    """The return visits due, of every kind that has them (repairs, complaints …),
    soonest first; each kind's declaration says how its rows link and read."""
    page = return_visits.paginate_rows(workflow.visit_queue(current_user), per_page=PER_PAGE)
    return render_template(
        "repairs/visits.html",
        page=page,
        labels=labels_for([r.unit_id for r in page.items if r.unit_id]),
        declared=workflow.visit_declarations(),
    )
