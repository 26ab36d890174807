"""Moves: the desk registers move-ins and move-outs and takes them through their steps."""

from typing import NamedTuple

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal.blueprints.custody import services as custody
from portal.blueprints.custody.models import CARD_KIND_LABELS, METER_LABELS
from portal.blueprints.moves import services, utilities
from portal.blueprints.moves.forms import (
    CompleteForm,
    DocumentsForm,
    GoodsPassForm,
    HandOverForm,
    InspectForm,
    MoveInForm,
    MoveOutForm,
    action_input,
    goods_lines,
    meter_photos,
    meter_rows,
)
from portal.blueprints.moves.models import (
    DOCUMENT_LABELS,
    MOVE_IN_STATE_LABELS,
    MOVE_OUT_STATE_LABELS,
    MoveIn,
    MoveOut,
)
from portal.blueprints.moves.rules import required_documents
from portal.blueprints.moves.workflow import MOVE_IN, MOVE_OUT
from portal.blueprints.tickets import ActionForm, Refusal
from portal.core import idempotency, workflow
from portal.core.access import DESK, as_id, get_or_404, roles_required, visible
from portal.core.errors import ServiceError
from portal.core.paging import paginate
from portal.core.people import RELATION_LABELS, User
from portal.core.places import OCCUPANCY_LABELS, Unit
from portal.core.units import labels_for, search_rows
from portal.core.workflow import InvalidInput
from portal.extensions import db

bp = Blueprint("moves", __name__)
PER_PAGE = 30
KINDS = {
    "in": (MoveIn, MOVE_IN, MOVE_IN_STATE_LABELS),
    "out": (MoveOut, MOVE_OUT, MOVE_OUT_STATE_LABELS),
}
ACTION_LABELS = {
    "submit": _l("Move registered"),
    "check-documents": _l("Documents checked"),
    "inspect": _l("Unit inspected"),
    "hand-over": _l("Handed over"),
    "complete": _l("Moved out"),
    "cancel": _l("Cancelled"),
}
DONE_MESSAGES = {
    "check-documents": _l("Documents checked."),
    "inspect": _l("Inspection recorded."),
    "hand-over": _l("Handed over: the people are residents of the unit now."),
    "complete": _l("Moved out: the residencies have ended."),
    "cancel": _l("Cancelled."),
}
INSPECTION_LABELS = {"ok": _l("No defects"), "defects": _l("Defects found")}
# A field the services name → the field of the page's form that shows its message.
FIELD_ALIASES = {"unit_id": "unit", "from": "on", "keys": "keys_count"}


class MoveRow(NamedTuple):
    kind: str
    id: int
    number: str
    status: str
    unit_id: int
    move_on: object
    created_at: object


@bp.route("/")
@roles_required(DESK)
def index():
    """Move-ins and move-outs of the estate, newest first, by kind and state."""
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    states = {**MOVE_IN_STATE_LABELS, **MOVE_OUT_STATE_LABELS}
    status = request.args.get("status") if request.args.get("status") in states else None
    page = paginate(
        services.moves_for(current_user, kind=kind, status=status),
        per_page=PER_PAGE,
        scalars=False,
    )
    page.items = [MoveRow(*row) for row in page.items]
    return render_template(
        "moves/index.html",
        page=page,
        kind=kind,
        status=status,
        labels=labels_for([r.unit_id for r in page.items]),
        state_labels={"in": MOVE_IN_STATE_LABELS, "out": MOVE_OUT_STATE_LABELS},
        states=states,
    )


# ---- registering -------------------------------------------------------------------------


def _fill_unit(form, unit_id) -> None:
    """The unit the page was opened for (from the unit page), if the clerk may see it."""
    seen = None
    if unit_id:
        seen = db.session.scalar(
            select(Unit.id).where(Unit.id == unit_id, visible(Unit, current_user))
        )
    form.unit.choices = [(seen, labels_for([seen]).get(seen, ""))] if seen else []
    if seen:
        form.unit.data = seen


def _chosen_unit(form) -> int:
    """The unit of the form: chosen from the unit page, or typed as a room (1-1-101)."""
    if form.unit.data:
        return form.unit.data
    place = (form.place.data or "").strip()
    found = db.session.execute(search_rows(current_user, q=place).limit(2)).all() if place else []
    if len(found) != 1:
        raise InvalidInput(
            _l("Name one unit: its room, e.g. 1-1-101."),
            fields={"place": str(_l("Name one unit: its room, e.g. 1-1-101."))},
        )
    return found[0].id


def _message(exc: ServiceError, value) -> str:
    """A field's message: its own words where the service gave them, else the error's."""
    return value if isinstance(exc, InvalidInput) and isinstance(value, str) else str(exc.message)


def _show_errors(form, errors: dict) -> list[tuple[str, str]]:
    """Put each field's message beside its field; what no single field shows (a group of
    rows, the form as a whole) is returned as (name, message) pairs."""
    loose = []
    for key, message in errors.items():
        parts = key.split(".")
        name = FIELD_ALIASES.get(parts[0], parts[0])
        if name == "unit" and "unit" in form and not form.unit.choices:
            name = "place"
        if name in form and len(parts) >= 3 and parts[1].isdigit():
            rows = form[name]
            row = int(parts[1])
            if row < len(rows.entries) and parts[2] in rows[row].form:
                rows[row].form[parts[2]].errors = [message]
                continue
        if name in form and name != "csrf_token" and not hasattr(form[name], "entries"):
            form[name].errors = [message]
        else:
            loose.append((name, message))
    return loose


def _register(kind: str):
    model = MoveIn if kind == "in" else MoveOut
    form = MoveInForm() if kind == "in" else MoveOutForm()
    _fill_unit(form, request.args.get("unit", type=as_id) or form.unit.data)
    if not form.is_submitted():
        form.idempotency_key.data = idempotency.new_key()
    template, loose = f"moves/new_{kind}.html", []
    if form.validate_on_submit():
        key = form.idempotency_key.data or None
        earlier = idempotency.find(model, current_user, key)
        if earlier is None:
            try:
                move = _register_move(kind, form, key)
            except ServiceError as exc:
                db.session.rollback()
                errors = {k: _message(exc, v) for k, v in exc.fields.items()}
                loose = _show_errors(form, errors or {"form": exc.message})
                status = 400 if exc.status == 404 else exc.status
                return render_template(template, form=form, loose=loose), status
            db.session.commit()
            flash(_("Move %(n)s registered.", n=move.number), "success")
        else:  # the form sent again (a double tap, Back): the move it made the first time
            move = earlier
        return redirect(url_for(".detail", kind=kind, move_id=move.id))
    return render_template(template, form=form, loose=loose), 400 if form.errors else 200


def _register_move(kind: str, form, key):
    unit_id = _chosen_unit(form)
    if kind == "out":
        return services.register_move_out(
            current_user,
            unit_id=unit_id,
            on=form.on.data,
            occupancy=form.occupancy.data,
            idempotency_key=key,
        )
    people = [
        {"name": r.form.name.data, "phone": r.form.phone.data, "relation": r.form.relation.data}
        for r in form.people
        if (r.form.name.data or "").strip() or (r.form.phone.data or "").strip()
    ]
    return services.register_move_in(
        current_user,
        unit_id=unit_id,
        on=form.on.data,
        people=people,
        occupancy=form.occupancy.data,
        idempotency_key=key,
    )


@bp.route("/in/new", methods=["GET", "POST"])
@roles_required(DESK)
def new_in():
    """Register a move-in for a unit: the day, the occupancy and the people."""
    return _register("in")


@bp.route("/out/new", methods=["GET", "POST"])
@roles_required(DESK)
def new_out():
    """Register a move-out for a unit: the day and the occupancy after it."""
    return _register("out")


# ---- one move ----------------------------------------------------------------------------


def _bound(form_class, action, **kwargs):
    """An action's own form: after a refusal of this action it holds what was typed and
    each field's message; otherwise it is fresh."""
    refusal = g.get("action_refusal")
    ours = refusal is not None and refusal.action == action
    form = form_class(formdata=request.form if ours else None, **kwargs)
    form.loose = _show_errors(form, refusal.errors) if ours else []
    return form


def _in_forms(move):
    documents = _bound(DocumentsForm, "check-documents")
    handover = _bound(HandOverForm, "hand-over")
    meter_rows(handover.readings)
    return {
        "documents_form": documents,
        "inspect_form": _bound(InspectForm, "inspect"),
        "handover_form": handover,
        "required": required_documents(move),
    }


def _out_forms(move):
    clearance = services.clearance(move)
    complete = _bound(CompleteForm, "complete")
    complete.cards_returned.choices = [(c.number, c.number) for c in clearance["cards"]]
    meter_rows(complete.readings)
    typed = [{"meter": r.form.meter.data, "value": r.form.value.data} for r in complete.readings]
    return {
        "clearance": clearance,
        "complete_form": complete,
        "pass_form": g.get("goods_pass_form") or GoodsPassForm(formdata=None, day=move.move_on),
        "last_readings": custody.last_readings(move.unit_id),
        "utilities": utilities.preview(move, typed),
    }


@bp.route("/<any(in, out):kind>/<int:move_id>")
@roles_required(DESK)
def detail(kind, move_id):
    """A move with its checklist, the actions the clerk may take now and its timeline."""
    model, flow, states = KINDS[kind]
    move = get_or_404(model, move_id)
    events = workflow.history(move)
    wanted = {e.actor_id for e in events} | {move.owner_id}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted - {None})))}
    forms = _in_forms(move) if kind == "in" else _out_forms(move)
    return render_template(
        f"moves/detail_{kind}.html",
        move=move,
        kind=kind,
        events=events,
        people=people,
        allowed=flow.allowed(move, current_user),
        form=ActionForm(),
        unit_label=labels_for([move.unit_id]).get(move.unit_id),
        state_label=lambda value: states.get(value, value),
        action_labels=ACTION_LABELS,
        result_labels=INSPECTION_LABELS,
        document_labels=DOCUMENT_LABELS,
        relation_labels=RELATION_LABELS,
        occupancy_labels=OCCUPANCY_LABELS,
        meter_labels=METER_LABELS,
        card_kind_labels=CARD_KIND_LABELS,
        **forms,
    )


def _refused(exc: ServiceError, kind: str, move_id: int, action: str):
    """A refusal about what was sent (bad input: 400; a card number already live, the
    checklist not met: 409): the page again with the action's form as typed and the
    messages beside the fields. A refusal of the step itself (its state, the role): a
    message, back to the move."""
    flash(str(exc.message), "danger")
    fields = {k: v for k, v in exc.fields.items() if k != "allowed"}
    if exc.status in (400, 409, 413) and fields and "allowed" not in exc.fields:
        if isinstance(exc, InvalidInput):
            errors = {k: _message(exc, v) for k, v in fields.items()}
        else:  # one rule, one message: at the first field it names
            errors = {next(iter(fields)): str(exc.message)}
        g.action_refusal = Refusal(action, errors)
        response = make_response(detail(kind=kind, move_id=move_id))
        response.status_code = exc.status
        return response
    return redirect(url_for(".detail", kind=kind, move_id=move_id), 303)


@bp.route("/<any(in, out):kind>/<int:move_id>/act/<action>", methods=["POST"])
@roles_required(DESK)
def act(kind, move_id, action):
    """Take one step of a move with the fields of its form."""
    model = KINDS[kind][0]
    move = get_or_404(model, move_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        photos = meter_photos() if action in ("hand-over", "complete") else {}
        services.act(move, action, actor=current_user, data=action_input(action))
        services.store_meter_photos(move, photos, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        return _refused(exc, kind, move_id, action)
    db.session.commit()
    flash(DONE_MESSAGES.get(action, _("Done.")), "success")
    return redirect(url_for(".detail", kind=kind, move_id=move_id), 303)


@bp.route("/out/<int:move_out_id>/goods-pass", methods=["POST"])
@roles_required(DESK)
def goods_pass(move_out_id):
    """Issue the goods release pass (物品放行条) for what leaves with the move-out."""
    move_id = move_out_id
    move = get_or_404(MoveOut, move_id)
    form = GoodsPassForm()
    if form.validate_on_submit():
        try:
            issued = services.issue_goods_pass(
                move, items=goods_lines(form.items.data), day=form.day.data, actor=current_user
            )
        except ServiceError as exc:
            db.session.rollback()
            errors = {k: _message(exc, v) for k, v in exc.fields.items()}
            loose = _show_errors(form, {FIELD_ALIASES.get(k, k): v for k, v in errors.items()})
            if loose or not errors:
                form.items.errors = [str(exc.message)]
            flash(str(exc.message), "danger")
            if exc.status not in (400, 404):
                return redirect(url_for(".detail", kind="out", move_id=move_id), 303)
        else:
            db.session.commit()
            flash(_("Goods release pass %(n)s issued.", n=issued.number), "success")
            return redirect(url_for(".detail", kind="out", move_id=move_id), 303)
    g.goods_pass_form = form
    response = make_response(detail(kind="out", move_id=move_id))
    response.status_code = 400
    return response
