"""One workflow engine for every ticket kind (repairs, complaints, renovations, moves).

A kind declares its states and transitions as data: (state, action) → next state, which
roles may take it, what input it needs, how it moves the due time, what it notifies.
`apply()` is the only way a ticket's state changes: it checks role, state and input,
runs the transition's effect, appends an event to the one shared history table and
returns the ticket. Due times, the overdue sweep, the escalation ladder and return visits
are written once here and configured per kind: a kind declares its first due time, the
notice that tells the reporter it was received, whether it gets a return visit (when it is
due, who makes it) and what a dissatisfied visit does (core/visits.py). Numbers come from
the gap-free counter in core/sequence.py.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from portal.core import clock, visits
from portal.core.errors import Conflict, NotAllowed, ServiceError
from portal.core.inputs import field_errors
from portal.core.sequence import next_in_sequence
from portal.core.types import UTCDateTime
from portal.extensions import db


class InvalidInput(ServiceError):
    """An action's input refused by its schema: `fields` maps each field at fault to its
    message in the user's language (a page shows it beside the field)."""


class TicketEvent(db.Model):
    """One step in the life of any ticket: who did what, when, from which state to which."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "kind", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    ticket_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketEscalation(db.Model):
    """A step of the escalation ladder taken for one ticket; each step happens once."""

    __tablename__ = "ticket_escalations"
    __table_args__ = (UniqueConstraint("kind", "ticket_id", "step", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    ticket_id: Mapped[int]
    step: Mapped[str] = mapped_column(String(30))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Ticket:
    """Columns every ticket kind has: number, state, first-contact owner, due time, place."""

    number: Mapped[str] = mapped_column(String(20))  # unique per estate (the counter is)
    status: Mapped[str] = mapped_column(String(30), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # When the return visit is due (kinds that get one), from reaching a visit state until
    # the visit is recorded or the ticket leaves those states.
    visit_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("estate_id", "number"),)

    @declared_attr
    def estate_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("estates.id"), index=True)

    @declared_attr
    def unit_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("units.id"), index=True)

    @declared_attr
    def owner_id(cls) -> Mapped[int | None]:
        """首问负责制: the staff member who first received the request owns it until it is
        handed over; for a resident's online request, the first staff member to act on it."""
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def created_by_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("users.id"))


@dataclass(frozen=True)
class Transition:
    """(from states, action) → to state, with who may take it and what it needs and does."""

    action: str
    sources: tuple[str, ...]
    # The next state; None keeps the state (e.g. a note); a callable(ticket, data) chooses
    # from the input (e.g. an assessment: valid → accepted, not valid → closed).
    target: str | Callable | None
    roles: frozenset
    schema: type[BaseModel] | None = None
    effect: Callable | None = None  # effect(ticket, data, actor) before the state changes
    due: Callable | None = None  # due(ticket, data) → new due_at (None leaves it)
    notify: Callable | None = None  # notify(ticket, data, actor) after the change
    guard: Callable | None = None  # guard(ticket, actor) → message when not allowed (409)


@dataclass(frozen=True)
class Step:
    """A rung of the escalation ladder: `offset` from the due time (negative = before)."""

    name: str
    offset: timedelta
    notify: Callable  # notify(ticket, step) — queues the notices of this rung


@dataclass
class Workflow:
    """A ticket kind: its model, number prefix, states, transitions and escalation ladder,
    and what the engine does for it on its own: the first due time, the "received" notice,
    the return visit and what a dissatisfied visit does."""

    kind: str
    model: Any
    prefix: str
    initial: str
    open_states: frozenset
    transitions: dict[str, Transition] = field(default_factory=dict)
    ladder: tuple[Step, ...] = ()
    initial_due: Callable | None = None  # initial_due(ticket) → timedelta from creation
    received_notice: Callable | None = None  # received_notice(ticket), queued on open
    visit: visits.Visit | None = None  # the return visit: in which states, by whom, when
    on_dissatisfied: visits.Dissatisfied | None = None

    def add(self, transition: Transition) -> None:
        self.transitions[transition.action] = transition

    def allowed(self, ticket, actor) -> list[str]:
        """The actions this actor may take on the ticket in its current state."""
        return [
            t.action
            for t in self.transitions.values()
            if ticket.status in t.sources
            and actor.role in t.roles
            and (t.guard is None or t.guard(ticket, actor) is None)
        ]


WORKFLOWS: dict[str, Workflow] = {}


def register(workflow: Workflow) -> Workflow:
    """Declare a ticket kind; no engine code changes for a new kind.

    A kind with a return visit gets the `return-visit` action from its declaration.
    """
    WORKFLOWS[workflow.kind] = workflow
    if workflow.visit is not None:
        workflow.add(_visit_transition(workflow))
    return workflow


def _visit_transition(workflow: Workflow) -> Transition:
    """`return-visit`: one more visit row; a dissatisfied one does what the kind declares."""
    rule, upset = workflow.visit, workflow.on_dissatisfied or visits.Dissatisfied()

    def target(ticket, data):
        return upset.to if data["result"] == "dissatisfied" else None

    def effect(ticket, data, actor):
        visits.record(workflow.kind, ticket, data, actor)

    def notify(ticket, data, actor):
        if data["result"] == "dissatisfied" and upset.notify:
            upset.notify(ticket, data, actor)

    return Transition(
        "return-visit", rule.states, target, rule.roles, visits.VisitInput, effect, notify=notify
    )


def workflow_of(ticket) -> Workflow:
    return WORKFLOWS[ticket.__workflow__]


def next_number(workflow: Workflow, estate_id: int) -> str:
    """A gap-free number per estate, kind and day: BX202611220001."""
    return next_in_sequence(estate_id, workflow.kind, workflow.prefix)


def open_ticket(workflow: Workflow, ticket, *, actor, data=None) -> Any:
    """Give a new ticket its number, first state, owner and due time, record its first
    event and queue the kind's "received" notice."""
    ticket.number = next_number(workflow, ticket.estate_id)
    ticket.status = workflow.initial
    if ticket.owner_id is None and actor.is_staff:
        ticket.owner_id = actor.id
    ticket.created_by_id = actor.id
    ticket.created_at = ticket.updated_at = clock.now()
    if workflow.initial_due is not None:
        ticket.due_at = ticket.created_at + workflow.initial_due(ticket)
    _follow_visit(workflow, ticket, None)
    db.session.add(ticket)
    db.session.flush()
    _event(workflow, ticket, "submit", None, workflow.initial, actor, data or {})
    if workflow.received_notice is not None:
        workflow.received_notice(ticket)
    return ticket


def apply(ticket, action: str, *, actor, data: dict | None = None):
    """Take `action` on a ticket: the only way a ticket's state changes.

    Raises NotAllowed (403) for a role that may never take it, Conflict (409, naming the
    allowed actions) when the state does not allow it, InvalidInput (400, a message per
    field) for input the transition's schema refuses.
    """
    workflow = workflow_of(ticket)
    transition = workflow.transitions.get(action)
    _lock(ticket)
    allowed = workflow.allowed(ticket, actor)
    if transition is None:
        raise Conflict(
            _l("Unknown action. Allowed now: %(allowed)s.", allowed=", ".join(allowed) or "—"),
            fields={"allowed": allowed},
        )
    if actor.role not in transition.roles:
        raise NotAllowed(_l("Your role may not do this."))
    blocked = transition.guard(ticket, actor) if transition.guard else None
    if ticket.status not in transition.sources or blocked:
        raise Conflict(
            blocked
            or _l(
                "Not possible while the ticket is %(state)s. Allowed now: %(allowed)s.",
                state=ticket.status,
                allowed=", ".join(allowed) or "—",
            ),
            fields={"allowed": allowed},
        )
    clean = _validate(transition, data or {})
    if ticket.owner_id is None and actor.is_staff:
        ticket.owner_id = actor.id
    before = ticket.status
    if transition.effect:
        transition.effect(ticket, clean, actor)
    target = transition.target(ticket, clean) if callable(transition.target) else transition.target
    if target:
        ticket.status = target
    if transition.due:
        ticket.due_at = transition.due(ticket, clean)
    _follow_visit(workflow, ticket, before)
    ticket.updated_at = clock.now()
    _event(workflow, ticket, action, before, ticket.status, actor, clean)
    if transition.notify:
        transition.notify(ticket, clean, actor)
    return ticket


def _lock(ticket) -> None:
    """Hold the ticket's row until the transaction ends and read its state anew: two
    actions sent at once (a double tap, two desks) are taken one after the other, and the
    second is judged on the state the first left."""
    db.session.flush()
    db.session.refresh(ticket, with_for_update=True)


def _follow_visit(workflow: Workflow, ticket, before) -> None:
    """Reaching a visit state makes the visit due; leaving those states cancels it."""
    rule = workflow.visit
    if rule is None:
        return
    if ticket.status not in rule.states:
        ticket.visit_due_at = None
    elif before not in rule.states:
        ticket.visit_due_at = visits.due_time(rule, ticket, clock.now())


def visit_queue(actor, *, kinds=None, due_by=None):
    """One queue of the return visits due, across every kind that has them (soonest first):
    a SELECT of rows (kind, id, number, unit_id, category, due_at)."""
    chosen = [w for w in WORKFLOWS.values() if w.visit and (kinds is None or w.kind in kinds)]
    return visits.queue_of(chosen, actor, due_by=due_by)


def visit_declarations() -> dict:
    """Each kind with return visits → its visit declaration (how the queue shows its rows)."""
    return {w.kind: w.visit for w in WORKFLOWS.values() if w.visit}


def _validate(transition: Transition, data: dict) -> dict:
    if transition.schema is None:
        return {}
    try:
        return transition.schema.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        raise InvalidInput(_l("Some fields are not valid."), fields=field_errors(exc)) from None


def _event(workflow, ticket, action, before, after, actor, data):
    db.session.add(
        TicketEvent(
            kind=workflow.kind,
            ticket_id=ticket.id,
            action=action,
            from_state=before,
            to_state=after,
            actor_id=actor.id if actor else None,
            at=clock.now(),
            data=data,
        )
    )


def history(ticket) -> list[TicketEvent]:
    """A ticket's events, oldest first (one query)."""
    return db.session.scalars(
        select(TicketEvent)
        .where(TicketEvent.kind == ticket.__workflow__, TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id)
    ).all()


def sweep_overdue(workflow: Workflow, now: datetime | None = None) -> int:
    """Take every rung of the ladder that has come due for open tickets, once each.

    A rung is keyed by the ticket's due time, so a ticket whose due time moves (a new
    agreed reply time, a reassignment) climbs the ladder again from the new time.
    """
    now = now or clock.now()
    model = workflow.model
    taken = 0
    for step in workflow.ladder:
        candidates = db.session.scalars(
            select(model)
            .where(
                model.status.in_(workflow.open_states),
                model.due_at.is_not(None),
                model.due_at <= now - step.offset,
                ~select(TicketEscalation.id)
                .where(
                    TicketEscalation.kind == workflow.kind,
                    TicketEscalation.ticket_id == model.id,
                    TicketEscalation.step == step.name,
                    TicketEscalation.due_at == model.due_at,
                )
                .exists(),
            )
            .order_by(model.id)
            .limit(500)
        ).all()
        for ticket in candidates:
            db.session.add(
                TicketEscalation(
                    kind=workflow.kind,
                    ticket_id=ticket.id,
                    step=step.name,
                    due_at=ticket.due_at,
                    at=now,
                )
            )
            step.notify(ticket, step)
            taken += 1
    db.session.commit()
    return taken
