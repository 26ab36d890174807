"""The repair workflow, declared as data on the shared engine (contracts §5)."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import exists, select

from portal.blueprints.repairs.models import (
    CATEGORY_LABELS,
    OPEN_STATES,
    Category,
    Repair,
    State,
)
from portal.core import clock, settings
from portal.core.access import COUNTER, DESK, READERS, RESIDENTS, SUPERVISORS, WORKERS, staff_of
from portal.core.errors import ServiceError
from portal.core.inputs import Id, Invalid
from portal.core.money import parse_yuan, yuan
from portal.core.people import Role, User
from portal.core.places import Estate
from portal.core.visits import Dissatisfied, ReturnVisit, Visit
from portal.core.workflow import Step, TicketEvent, Transition, Workflow, register
from portal.extensions import db
from portal.notify.outbox import tell

LIMIT_DEFAULTS = {
    Category.plumbing_electrical: 24,
    Category.civil: 72,
    Category.smart_systems: 48,
    Category.elevator: 4,
    Category.common_facilities: 48,
    Category.other: 72,
}
for _category, _hours in LIMIT_DEFAULTS.items():
    settings.declare(
        f"repairs.limit_hours.{_category.value}",
        _l("Repair time limit (hours): %(c)s", c=_category.label),
        int,
        _hours,
        minimum=1,
        maximum=720,
    )
settings.declare(
    "repairs.limit_hours.urgent",
    _l("Repair time limit (hours): urgent"),
    int,
    2,
    minimum=1,
    maximum=72,
)
settings.declare(
    "repairs.visit_due_hours",
    _l("Return visit after a repair is completed, within (hours)"),
    int,
    72,
    minimum=1,
    maximum=720,
)


def limit(repair: Repair) -> timedelta:
    """How long a repair may take, from the settings of its estate."""
    key = "urgent" if repair.urgent else repair.category
    return timedelta(hours=settings.get(f"repairs.limit_hours.{key}", repair.estate_id))


# ---- inputs ------------------------------------------------------------------------------

MAX_CHARGE_FEN = 100_000_00  # a paid service costs less than 100,000 yuan


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    technician_id: Id


class Reassign(Assign):
    reason: str = Field(min_length=1, max_length=500)


class Complete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000)
    materials: str | None = Field(None, max_length=500)
    charge: str | None = Field(
        None,
        max_length=20,
        description="Yuan with at most two decimals, e.g. 80.00",
        # The number pad on a phone (the page's form is drawn from this schema).
        json_schema_extra={"html": {"inputmode": "decimal", "placeholder": "80.00"}},
    )

    @field_validator("charge")
    @classmethod
    def money(cls, value):
        if value in (None, ""):
            return None
        try:
            fen = parse_yuan(value, field="charge")
        except ServiceError as exc:
            if exc.fields.get("charge") == "too large":  # e.g. "1e400"
                raise Invalid(_l("A charge is less than 100,000.00 yuan.")) from None
            raise Invalid(exc.message) from None
        if fen >= MAX_CHARGE_FEN:
            raise Invalid(_l("A charge is less than 100,000.00 yuan."))
        return yuan(fen)


class Confirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5, json_schema_extra={"widget": "stars"})
    comment: str | None = Field(None, max_length=1000)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=1000)


# ---- effects -----------------------------------------------------------------------------


def technician_in_estate(repair: Repair, technician_id: int) -> User:
    """The technician of the repair's estate with this id, or ServiceError."""
    found = staff_of(repair.estate_id, Role.technician, user_id=technician_id)
    if not found:
        raise ServiceError(
            _l("Choose a technician of this estate."), fields={"technician_id": "unknown"}
        )
    return found[0]


def _assign(repair, data, actor):
    repair.assignee_id = technician_in_estate(repair, data["technician_id"]).id


def _complete(repair, data, actor):
    # The due time in force at completion goes into the event, so timeliness is exact
    # even after a reopen moves the due time.
    data["due_at"] = repair.due_at.isoformat() if repair.due_at else None
    repair.completed_at = clock.now()
    repair.completion_note = data["note"]
    repair.materials = data.get("materials")
    repair.charge_fen = parse_yuan(data["charge"]) if data.get("charge") else None


def _confirm(repair, data, actor):
    repair.rating, repair.rating_comment = data["rating"], data.get("comment")


def _reopen(repair, data, actor):
    # The last technician stays on record (rework is counted against them) until the
    # repair is assigned again.
    repair.reopened_count += 1
    repair.completed_at = None


# ---- guards ------------------------------------------------------------------------------


def _own_order(repair, actor):
    if actor.role == Role.technician and repair.assignee_id != actor.id:
        return _l("This work order is assigned to another technician.")
    return None


def _resident_cancel(repair, actor):
    if actor.role == Role.resident and repair.status != State.submitted:
        return _l("It has been dispatched already: please call the service centre to cancel.")
    return None


def unreviewed_dissatisfied(repair_id_column):
    """SQL: a dissatisfied visit of this repair with no review recorded after it."""
    return exists(
        select(ReturnVisit.id).where(
            ReturnVisit.kind == "repair",
            ReturnVisit.ticket_id == repair_id_column,
            ReturnVisit.result == "dissatisfied",
            ~exists(
                select(TicketEvent.id)
                .where(
                    TicketEvent.kind == "repair",
                    TicketEvent.ticket_id == repair_id_column,
                    TicketEvent.action == "review",
                    TicketEvent.at >= ReturnVisit.visited_at,
                )
                # the repair of the enclosing statement, not every repair
                .correlate_except(TicketEvent)
            ),
        )
    )


def _needs_review(repair, actor):
    if db.session.scalar(select(unreviewed_dissatisfied(repair.id))):
        return None
    return _l("There is no dissatisfied return visit to review.")


def _overdue(repair, actor):
    return None if repair.is_overdue else _l("You can urge a repair once it is overdue.")


# ---- notices -----------------------------------------------------------------------------


def _tell(user, repair, kind, subject, body, channels=("app",), urgent=False):
    if user is not None:
        tell(
            user,
            kind=kind,
            estate=db.session.get(Estate, repair.estate_id),
            unit_id=repair.unit_id,
            channels=channels,
            urgent=urgent,
            render=lambda: (subject(), body()),
        )


def _to_reporter(kind, subject, body):
    """A notice to whoever reported the repair; `subject(repair)` names it by number."""

    def notify(repair, data=None, actor=None):
        _tell(repair.reporter, repair, kind, lambda: subject(repair), lambda: body)

    return notify


notify_received = _to_reporter(
    "repair_received",
    lambda r: _l("Repair %(n)s received", n=r.number),
    _l("We have your repair request and will dispatch it within the time limit."),
)
_notify_completed = _to_reporter(
    "repair_completed",
    lambda r: _l("Repair %(n)s completed — please rate it", n=r.number),
    _l("Please confirm the repair and rate our work, or tell us it is not fixed."),
)
_notify_reopened = _to_reporter(
    "repair_reopened",
    lambda r: _l("Repair %(n)s reopened", n=r.number),
    _l("We will dispatch a technician again."),
)
_notify_dispatched = _to_reporter(
    "repair_assigned",
    lambda r: _l("Repair %(n)s dispatched", n=r.number),
    _l("A technician is on the way for your repair."),
)


def _notify_assigned(repair, data, actor):
    _notify_dispatched(repair)
    _tell(
        db.session.get(User, repair.assignee_id),
        repair,
        "repair_new_order",
        lambda: _l("New work order %(n)s", n=repair.number),
        lambda: repair.description[:200],
        channels=("app", "sms"),
        urgent=repair.urgent,
    )


def _notify_dissatisfied(repair, data, actor):
    for supervisor in staff_of(repair.estate_id, Role.supervisor):
        _tell(
            supervisor,
            repair,
            "repair_dissatisfied",
            lambda: _l("Dissatisfied return visit: %(n)s", n=repair.number),
            lambda: data["note"][:200],
        )


def _notify_urge(repair, data, actor):
    for person in [
        db.session.get(User, repair.assignee_id),
        *staff_of(repair.estate_id, Role.supervisor),
    ]:
        _tell(
            person,
            repair,
            "repair_urged",
            lambda: _l("Resident urges %(n)s", n=repair.number),
            lambda: _l("The repair is overdue and the resident is waiting."),
        )


def _warn(repair, step):
    _tell(
        db.session.get(User, repair.assignee_id) if repair.assignee_id else None,
        repair,
        "repair_due_soon",
        lambda: _l("Work order %(n)s is due soon", n=repair.number),
        lambda: repair.description[:200],
    )


def _escalate(*roles):
    def notify(repair, step):
        for person in staff_of(repair.estate_id, *roles):
            _tell(
                person,
                repair,
                f"repair_{step.name}",
                lambda: _l("Overdue repair %(n)s", n=repair.number),
                lambda: repair.description[:200],
            )

    return notify


def _due_from_now(repair, data):
    return clock.now() + limit(repair)


REPAIR = register(
    Workflow(
        kind="repair",
        model=Repair,
        prefix="BX",
        initial=State.submitted,
        open_states=OPEN_STATES,
        initial_due=limit,
        received_notice=notify_received,
        visit=Visit(
            (State.completed, State.closed),
            READERS,
            "repairs.visit_due_hours",
            label=_l("Repair"),
            endpoint="repairs.detail",
            category_labels=CATEGORY_LABELS,
        ),
        # The repair stays completed or closed; the supervisor reopens it or records a review.
        on_dissatisfied=Dissatisfied(notify=_notify_dissatisfied),
        ladder=(
            Step("warn", timedelta(hours=-1), _warn),
            Step("escalate_supervisor", timedelta(0), _escalate(Role.supervisor)),
            Step("escalate_manager", timedelta(hours=4), _escalate(Role.manager)),
        ),
    )
)
for _t in (
    Transition(
        "assign",
        (State.submitted, State.reopened),
        State.assigned,
        COUNTER,
        Assign,
        _assign,
        notify=_notify_assigned,
    ),
    Transition(
        "reassign",
        (State.assigned, State.in_progress),
        State.assigned,
        COUNTER,
        Reassign,
        _assign,
        notify=_notify_assigned,
    ),
    Transition("start", (State.assigned,), State.in_progress, WORKERS, guard=_own_order),
    Transition(
        "complete",
        (State.in_progress,),
        State.completed,
        WORKERS,
        Complete,
        _complete,
        notify=_notify_completed,
        guard=_own_order,
    ),
    Transition(
        "confirm", (State.completed,), State.closed, RESIDENTS | {Role.frontdesk}, Confirm, _confirm
    ),
    Transition(
        "reopen",
        (State.completed, State.closed),
        State.reopened,
        RESIDENTS | DESK,
        Reason,
        _reopen,
        due=_due_from_now,
        notify=_notify_reopened,
    ),
    Transition(
        "cancel",
        (State.submitted, State.assigned, State.in_progress, State.reopened),
        State.cancelled,
        RESIDENTS | DESK,
        Reason,
        guard=_resident_cancel,
    ),
    Transition("urge", tuple(OPEN_STATES), None, RESIDENTS, notify=_notify_urge, guard=_overdue),
    # After a dissatisfied visit: reopen, or record why no more work is needed.
    Transition(
        "review", (State.completed, State.closed), None, SUPERVISORS, Note, guard=_needs_review
    ),
):
    REPAIR.add(_t)
