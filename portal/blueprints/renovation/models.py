"""A renovation application (装修申请): a ticket on the shared workflow engine."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.places import Unit
from portal.core.types import UTCDateTime
from portal.core.workflow import Ticket
from portal.extensions import db


class Scope(StrEnum):
    """What the works touch (contracts §9)."""

    plumbing_electrical = "plumbing_electrical"
    walls = "walls"
    waterproofing = "waterproofing"
    doors_windows = "doors_windows"
    ac_units = "ac_units"
    gas = "gas"
    other = "other"


SCOPE_LABELS = {
    Scope.plumbing_electrical: _l("Plumbing and electrical"),
    Scope.walls: _l("Walls"),
    Scope.waterproofing: _l("Waterproofing"),
    Scope.doors_windows: _l("Doors and windows"),
    Scope.ac_units: _l("Outdoor AC units"),
    Scope.gas: _l("Gas"),
    Scope.other: _l("Other works"),
}


class RenovationState(StrEnum):
    submitted = "submitted"
    reviewed = "reviewed"
    returned = "returned"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"
    suspended = "suspended"
    accepted = "accepted"


STATE_LABELS = {
    RenovationState.submitted: _l("Submitted, awaiting the engineering review"),
    RenovationState.reviewed: _l("Reviewed, awaiting approval"),
    RenovationState.returned: _l("Sent back to the applicant to amend"),
    RenovationState.approved: _l("Approved"),
    RenovationState.rejected: _l("Rejected"),
    RenovationState.cancelled: _l("Cancelled"),
    RenovationState.suspended: _l("Works suspended"),
    RenovationState.accepted: _l("Works accepted, deposit settled"),
}
# A unit has one open renovation at a time; the works' states join these as the line grows.
OPEN_STATES = frozenset(
    {
        RenovationState.submitted,
        RenovationState.reviewed,
        RenovationState.returned,
        RenovationState.approved,
        RenovationState.suspended,
    }
)
# The works: between the approval and the completion acceptance.
WORKS = (RenovationState.approved, RenovationState.suspended)
BEFORE_APPROVAL = (RenovationState.submitted, RenovationState.reviewed, RenovationState.returned)


class Renovation(Ticket, db.Model):
    """An owner's renovation: contractor, foreman, workers, scope, window, the commitments
    signed, the review, and what the approval did (bills, passes, occupancy, notices)."""

    __tablename__ = "renovations"
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        UniqueConstraint("estate_id", "idempotency_key"),
    )
    __workflow__ = "renovation"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The owner the works are for (the applicant, or the one the desk registers for).
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    contractor: Mapped[str] = mapped_column(String(200))
    contractor_licence: Mapped[str | None] = mapped_column(String(100))
    foreman: Mapped[str] = mapped_column(String(100))
    foreman_phone: Mapped[str] = mapped_column(String(32))
    scope: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # [{name, id_number, phone}] as applied for; each gets a worker pass at approval.
    workers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The working hours committed to and the liability statement, word for word as signed.
    hours_text: Mapped[str] = mapped_column(Text)
    statement_text: Mapped[str] = mapped_column(Text)
    # "online" (ticked by the owner) or "paper" (signed at the desk).
    statement_signed: Mapped[str] = mapped_column(String(10))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The engineering review: {notes, required_changes: [text], by, at}.
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    returned_reason: Mapped[str | None] = mapped_column(String(500))
    rejected_reason: Mapped[str | None] = mapped_column(String(500))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What the approval did: {bills: {deposit, debris}, passes: [ids], occupancy: …,
    # neighbours: n}.
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The occupancy `renovating` waits for the start day when that is still ahead.
    occupancy_due_on: Mapped[date | None] = mapped_column(index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Set on the record a repeated create answers with; not stored.
    replayed = False

    unit: Mapped[Unit] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES
