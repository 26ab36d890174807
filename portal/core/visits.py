"""Return visits (回访) for any ticket kind: one record, one due-time rule, one queue.

A kind declares on its workflow whether it gets a return visit (`Visit`: in which states,
by whom, and which setting holds the hours it is due within) and what a dissatisfied visit
does (`Dissatisfied`). The engine (core/workflow.py) turns that into the `return-visit`
action, keeps each ticket's `visit_due_at`, and writes every visit as a row here — a second
visit never overwrites the first.

Rest hours: a visit is never due during the estate's rest hours (core/rest_hours.py: the
`notify.quiet_hours` setting, 22:00–08:00 by default — the same hours that hold SMS); a due
time that falls inside them moves to the morning they end.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ForeignKey, Index, String, func, literal, select, union_all
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock, rest_hours, settings
from portal.core.access import visible
from portal.core.places import Estate
from portal.core.types import UTCDateTime
from portal.extensions import db

RESULTS = ("satisfied", "neutral", "dissatisfied")
CHANNELS = ("phone", "in_person")


class ReturnVisit(db.Model):
    """One return visit of one ticket: who asked the resident, when, how, and the answer."""

    __tablename__ = "return_visits"
    __table_args__ = (Index("ix_return_visits_ticket", "kind", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    ticket_id: Mapped[int]
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    visited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    channel: Mapped[str] = mapped_column(String(10))  # phone | in_person
    result: Mapped[str] = mapped_column(String(15))  # satisfied | neutral | dissatisfied
    note: Mapped[str] = mapped_column(String(1000))


@dataclass(frozen=True)
class Visit:
    """A kind's return visit: due on entering `states` (and recorded in them), made by
    `roles`, within the hours the `due_setting` holds for the ticket's estate. The queue of
    visits due names each row's kind with `label`, links it to `endpoint` (which takes
    `<kind>_id`) and names its category with `category_labels`, so a new kind joins the
    queue without touching its page."""

    states: tuple[str, ...]
    roles: frozenset
    due_setting: str
    label: str = ""
    endpoint: str = ""
    category_labels: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Dissatisfied:
    """What a dissatisfied visit does: move the ticket to `to` (None: it stays) and/or
    `notify(ticket, data, actor)` (e.g. the supervisor, who reviews or reopens)."""

    to: str | None = None
    notify: Callable | None = None


RESULT_LABELS = {
    "satisfied": _l("Satisfied"),
    "neutral": _l("Neutral"),
    "dissatisfied": _l("Dissatisfied"),
}


class VisitInput(BaseModel):
    """The input of the `return-visit` action, alike for every kind."""

    model_config = ConfigDict(extra="forbid")
    result: Literal["satisfied", "neutral", "dissatisfied"]
    note: str = Field(min_length=1, max_length=1000)
    channel: Literal["phone", "in_person"] = "phone"


def due_time(rule: Visit, ticket, start: datetime) -> datetime:
    """When the visit of a ticket that reached a visit state at `start` is due."""
    hours = settings.get(rule.due_setting, ticket.estate_id)
    due = start + timedelta(hours=hours)
    estate = db.session.get(Estate, ticket.estate_id)
    tz = estate.timezone if estate else "Asia/Shanghai"
    return rest_hours.release_time(due, estate_id=ticket.estate_id, tz=tz) or due


def record(kind: str, ticket, data: dict, actor) -> ReturnVisit:
    """Write one visit (never overwriting an earlier one); the ticket's visit is no more due."""
    visit = ReturnVisit(
        kind=kind,
        ticket_id=ticket.id,
        estate_id=ticket.estate_id,
        visited_by_id=actor.id,
        visited_at=clock.now(),
        channel=data["channel"],
        result=data["result"],
        note=data["note"],
    )
    db.session.add(visit)
    ticket.visit_due_at = None
    return visit


def visits_of(kind: str, ticket_id: int) -> list[ReturnVisit]:
    """A ticket's visits, oldest first."""
    return db.session.scalars(
        select(ReturnVisit)
        .where(ReturnVisit.kind == kind, ReturnVisit.ticket_id == ticket_id)
        .order_by(ReturnVisit.id)
    ).all()


def latest_result_of(kind: str, ticket_id):
    """SQL: the result of the latest visit of the ticket whose id is `ticket_id` (a column)."""
    return (
        select(ReturnVisit.result)
        .where(ReturnVisit.kind == kind, ReturnVisit.ticket_id == ticket_id)
        .order_by(ReturnVisit.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def latest_result(kind: str, ticket_id: int) -> str | None:
    """The result of a ticket's latest visit (None before the first)."""
    return db.session.scalar(select(latest_result_of(kind, ticket_id)))


def queue_of(workflows, actor, *, due_by: datetime | None = None):
    """SELECT of the visits due, across kinds, soonest first: rows of (kind, id, number,
    unit_id, category, due_at) for the tickets the actor may see."""
    parts = []
    for wf in workflows:
        model = wf.model
        stmt = select(
            literal(wf.kind).label("kind"),
            model.id.label("id"),
            model.number.label("number"),
            model.unit_id.label("unit_id"),
            getattr(model, "category", literal(None)).label("category"),
            model.visit_due_at.label("due_at"),
        ).where(
            visible(model, actor),
            model.visit_due_at.is_not(None),
            model.status.in_(wf.visit.states),
        )
        if due_by is not None:
            stmt = stmt.where(model.visit_due_at <= due_by)
        parts.append(stmt)
    union = union_all(*parts).subquery()
    return select(union).order_by(union.c.due_at, union.c.kind, union.c.id)


class RowPagination(Pagination):
    """A page of rows (not entities) of a SELECT, for the pager macro."""

    def _query_items(self):
        stmt = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(db.session.execute(stmt).all())

    def _query_count(self):
        stmt = self._query_args["select"].order_by(None).subquery()
        return db.session.scalar(select(func.count()).select_from(stmt))


def paginate_rows(stmt, *, per_page: int, page: int | None = None) -> RowPagination:
    """Paginate a SELECT of rows (a page past the end is empty, never 404)."""
    return RowPagination(select=stmt, page=page, per_page=per_page, error_out=False)
