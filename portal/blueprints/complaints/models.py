"""Complaints (投诉), inquiries (咨询) and suggestions (建议): one ticket kind, three weights."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, column_property, mapped_column, query_expression, relationship

from portal.core.people import User
from portal.core.types import UTCDateTime
from portal.core.visits import latest_result_of
from portal.core.workflow import Ticket
from portal.extensions import db


class Kind(StrEnum):
    complaint = "complaint"
    inquiry = "inquiry"
    suggestion = "suggestion"


class Category(StrEnum):
    service_attitude = "service_attitude"
    maintenance = "maintenance"
    security_traffic = "security_traffic"
    cleaning_greening = "cleaning_greening"
    fees = "fees"
    neighbours_noise = "neighbours_noise"
    other = "other"

    @property
    def label(self):
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.service_attitude: _l("Service attitude"),
    Category.maintenance: _l("Logistics & maintenance"),
    Category.security_traffic: _l("Security & traffic"),
    Category.cleaning_greening: _l("Cleaning & greening"),
    Category.fees: _l("Fees"),
    Category.neighbours_noise: _l("Neighbours & noise"),
    Category.other: _l("Other"),
}


class State(StrEnum):
    registered = "registered"
    accepted = "accepted"
    plan_proposed = "plan_proposed"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"

    @property
    def label(self):
        return STATE_LABELS[self]


STATE_LABELS = {
    State.registered: lazy_pgettext("ticket state", "Registered"),
    State.accepted: _l("Accepted"),
    State.plan_proposed: _l("Plan awaiting approval"),
    State.in_progress: _l("Being handled"),
    State.resolved: _l("Resolved, awaiting return visit"),
    State.closed: _l("Closed"),
}


OPEN_STATES = frozenset({State.registered, State.accepted, State.plan_proposed, State.in_progress})


class Complaint(Ticket, db.Model):
    """A complaint through its closed loop, or a lighter inquiry or suggestion.

    `due_at` is the reply due time: 48 h after registration, moved by each progress reply
    to the next reply time agreed with the resident.
    """

    __tablename__ = "complaints"
    # The ticket's number (as Ticket declares it) and the client's key: unique per estate.
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        UniqueConstraint("estate_id", "idempotency_key"),
    )
    __workflow__ = "complaint"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default=Kind.complaint)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category: Mapped[str] = mapped_column(String(30), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)
    repair_id: Mapped[int | None] = mapped_column(ForeignKey("repairs.id"))
    valid: Mapped[bool | None] = mapped_column(Boolean)
    department: Mapped[str | None] = mapped_column(String(100))
    cause: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(100))
    plan: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str | None] = mapped_column(Text)
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resident_accepted: Mapped[bool | None] = mapped_column(Boolean)
    # The client's one-time key (core/idempotency.py) and the values it was sent with.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Every return visit is a row of core/visits; this is the latest one's result.
    visit_result: Mapped[str | None] = column_property(latest_result_of("complaint", id))
    # A list's thumbnail, read only where the list asks for it (uploads.first_photo).
    first_photo_id: Mapped[int | None] = query_expression()

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    # Set on the record a repeated create answers with (core/idempotency.py); not stored.
    replayed = False

    @property
    def state(self) -> State:
        return State(self.status)
