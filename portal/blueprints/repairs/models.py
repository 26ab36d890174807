"""Repair requests (报修); their return visits (回访) are kept by the engine (core/visits)."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from portal.core import clock
from portal.core.intake import Source  # noqa: F401 - repairs speak of it too
from portal.core.people import User
from portal.core.places import Unit
from portal.core.types import UTCDateTime
from portal.core.workflow import Ticket
from portal.extensions import db


class Category(StrEnum):
    plumbing_electrical = "plumbing_electrical"
    civil = "civil"
    smart_systems = "smart_systems"
    elevator = "elevator"
    common_facilities = "common_facilities"
    other = "other"

    @property
    def label(self):
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.plumbing_electrical: _l("Plumbing & electrical"),
    Category.civil: _l("Civil works (walls, doors, windows, glass)"),
    Category.smart_systems: _l("Smart systems (intercom, access, CCTV)"),
    Category.elevator: _l("Elevator"),
    Category.common_facilities: _l("Common facilities"),
    Category.other: _l("Other"),
}


class Location(StrEnum):
    unit = "unit"
    common = "common"


class State(StrEnum):
    submitted = "submitted"
    assigned = "assigned"
    in_progress = "in_progress"
    completed = "completed"
    closed = "closed"
    reopened = "reopened"
    cancelled = "cancelled"

    @property
    def label(self):
        return STATE_LABELS[self]


STATE_LABELS = {
    State.submitted: _l("Submitted"),
    State.assigned: _l("Dispatched"),
    State.in_progress: _l("In progress"),
    State.completed: _l("Completed, awaiting confirmation"),
    State.closed: _l("Closed"),
    State.reopened: _l("Reopened"),
    State.cancelled: _l("Cancelled"),
}
OPEN_STATES = frozenset({State.submitted, State.assigned, State.in_progress, State.reopened})


class Repair(Ticket, db.Model):
    """A repair request, in a unit or a common area, from report to the resident's rating."""

    __tablename__ = "repairs"
    # The ticket's number (as Ticket declares it) and the client's key: unique per estate.
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        UniqueConstraint("estate_id", "idempotency_key"),
    )
    __workflow__ = "repair"
    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category: Mapped[str] = mapped_column(String(30), index=True)
    location: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_time: Mapped[str | None] = mapped_column(String(100))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_note: Mapped[str | None] = mapped_column(Text)
    materials: Mapped[str | None] = mapped_column(String(500))
    charge_fen: Mapped[int | None] = mapped_column(BigInteger)
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(String(1000))
    reopened_count: Mapped[int] = mapped_column(default=0)
    # The client's one-time key (core/idempotency.py) and the values it was sent with.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # A list's thumbnail, read only where the list asks for it (uploads.first_photo).
    first_photo_id: Mapped[int | None] = query_expression()

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    # Set on the record a repeated create answers with (core/idempotency.py); not stored.
    replayed = False
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    unit: Mapped[Unit | None] = relationship()

    @property
    def state(self) -> State:
        return State(self.status)

    @property
    def category_enum(self) -> Category:
        return Category(self.category)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN_STATES and self.due_at is not None and self.due_at < clock.now()
