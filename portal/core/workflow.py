"""One workflow engine for every ticket kind (repairs, complaints, renovations, moves).

A kind declares its states and transitions as data: (state, action) → next state, which
roles may take it, what input it needs, how it moves the due time, what it notifies.
`apply()` is the only way a ticket's state changes: it checks role, state and input,
runs the transition's effect, appends an event to the one shared history table and
returns the ticket. Due times, the overdue sweep and the escalation ladder are written
once here and configured per kind.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from portal.core import clock
from portal.core.errors import Conflict, NotAllowed, ServiceError
from portal.core.types import UTCDateTime
from portal.extensions import db


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


class TicketCounter(db.Model):
    """The last number given to a kind of ticket in an estate on one day (gap-free)."""

    __tablename__ = "ticket_counters"
    __table_args__ = (UniqueConstraint("estate_id", "kind", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    kind: Mapped[str] = mapped_column(String(30))
    day: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column(default=0)


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
    """A ticket kind: its model, number prefix, states, transitions and escalation ladder."""

    kind: str
    model: Any
    prefix: str
    initial: str
    open_states: frozenset
    transitions: dict[str, Transition] = field(default_factory=dict)
    ladder: tuple[Step, ...] = ()

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
    """Declare a ticket kind; no engine code changes for a new kind."""
    WORKFLOWS[workflow.kind] = workflow
    return workflow


def workflow_of(ticket) -> Workflow:
    return WORKFLOWS[ticket.__workflow__]


def next_number(workflow: Workflow, estate_id: int) -> str:
    """A gap-free number per estate, kind and day: BX202611220001."""
    return next_in_sequence(estate_id, workflow.kind, workflow.prefix)


def next_in_sequence(estate_id: int, kind: str, prefix: str) -> str:
    """The next number of a gap-free daily sequence per estate (tickets, receipts).

    The counter row is locked until the caller's transaction ends, so a rolled-back
    transaction gives its number back and concurrent callers queue for the next one.
    """
    day = clock.local_today().strftime("%Y%m%d")
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(
        insert(TicketCounter)
        .values(estate_id=estate_id, kind=kind, day=day, value=0)
        .on_conflict_do_nothing()
    )
    counter = db.session.scalar(
        select(TicketCounter)
        .where(
            TicketCounter.estate_id == estate_id,
            TicketCounter.kind == kind,
            TicketCounter.day == day,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter.value += 1
    db.session.flush()
    return f"{prefix}{day}{counter.value:04d}"


def open_ticket(workflow: Workflow, ticket, *, actor, data=None) -> Any:
    """Give a new ticket its number, first state and owner, and record its first event."""
    ticket.number = next_number(workflow, ticket.estate_id)
    ticket.status = workflow.initial
    if ticket.owner_id is None and actor.is_staff:
        ticket.owner_id = actor.id
    ticket.created_by_id = actor.id
    ticket.created_at = ticket.updated_at = clock.now()
    db.session.add(ticket)
    db.session.flush()
    _event(workflow, ticket, "submit", None, workflow.initial, actor, data or {})
    return ticket


def apply(ticket, action: str, *, actor, data: dict | None = None):
    """Take `action` on a ticket: the only way a ticket's state changes.

    Raises NotAllowed (403) for a role that may never take it, Conflict (409, naming the
    allowed actions) when the state does not allow it, ServiceError (400) for bad input.
    """
    workflow = workflow_of(ticket)
    transition = workflow.transitions.get(action)
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
    ticket.updated_at = clock.now()
    _event(workflow, ticket, action, before, ticket.status, actor, clean)
    if transition.notify:
        transition.notify(ticket, clean, actor)
    return ticket


def _validate(transition: Transition, data: dict) -> dict:
    if transition.schema is None:
        return {}
    try:
        return transition.schema.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "data": e["msg"] for e in exc.errors()}
        raise ServiceError(_l("Some fields are not valid."), fields=fields) from None


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
