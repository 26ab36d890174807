"""Move-ins (交房/入住) and move-outs (迁出/退房): tickets on the shared workflow engine."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.places import Unit
from portal.core.types import UTCDateTime
from portal.core.workflow import Ticket
from portal.extensions import db


class Document(StrEnum):
    """The papers the desk checks before a hand-over."""

    id_card = "id_card"
    purchase_contract = "purchase_contract"
    maintenance_fund = "maintenance_fund"
    deed_tax = "deed_tax"
    lease = "lease"

    @property
    def label(self):
        return DOCUMENT_LABELS[self]


DOCUMENT_LABELS = {
    Document.id_card: _l("ID card"),
    Document.purchase_contract: _l("Purchase contract"),
    Document.maintenance_fund: _l("Maintenance fund receipt"),
    Document.deed_tax: _l("Deed tax receipt"),
    Document.lease: _l("Lease contract"),
}


class MoveInState(StrEnum):
    submitted = "submitted"
    documents_checked = "documents_checked"
    inspected = "inspected"
    completed = "completed"
    cancelled = "cancelled"


MOVE_IN_STATE_LABELS = {
    MoveInState.submitted: _l("Registered, documents to check"),
    MoveInState.documents_checked: _l("Documents checked, to inspect"),
    MoveInState.inspected: _l("Inspected, to hand over"),
    MoveInState.completed: _l("Handed over"),
    MoveInState.cancelled: _l("Cancelled"),
}
MOVE_IN_OPEN = frozenset(
    {MoveInState.submitted, MoveInState.documents_checked, MoveInState.inspected}
)


class MoveOutState(StrEnum):
    submitted = "submitted"
    completed = "completed"
    cancelled = "cancelled"


MOVE_OUT_STATE_LABELS = {
    MoveOutState.submitted: _l("Registered, clearance open"),
    MoveOutState.completed: _l("Moved out"),
    MoveOutState.cancelled: _l("Cancelled"),
}
MOVE_OUT_OPEN = frozenset({MoveOutState.submitted})


class MoveIn(Ticket, db.Model):
    """A household's arrival: people, documents, the inspection (验房) and the hand-over."""

    __tablename__ = "move_ins"
    # The ticket's number (as Ticket declares it) and the client's key: unique per estate.
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        UniqueConstraint("estate_id", "idempotency_key"),
    )
    __workflow__ = "move_in"
    id: Mapped[int] = mapped_column(primary_key=True)
    move_on: Mapped[date]
    # The occupancy category the unit takes from `move_on` at the hand-over.
    occupancy: Mapped[str] = mapped_column(String(32))
    # [{name, phone, relation}] as registered; they become residents at the hand-over.
    people: Mapped[list[Any]] = mapped_column(JSON, default=list)
    documents: Mapped[list[Any] | None] = mapped_column(JSON)
    inspection_result: Mapped[str | None] = mapped_column(String(10))
    defects: Mapped[list[Any] | None] = mapped_column(JSON)
    # The repairs the inspection's defects opened, by id.
    repair_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    # {keys: {count, label}, cards: [...], readings: [...]} as handed over.
    handover: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The client's one-time key (core/idempotency.py) and the values it was sent with.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Set on the record a repeated create answers with; not stored.
    replayed = False

    unit: Mapped[Unit] = relationship()

    @property
    def kind(self) -> str:
        return "in"

    @property
    def is_open(self) -> bool:
        return self.status in MOVE_IN_OPEN


class MoveOut(Ticket, db.Model):
    """A household's departure: the clearance checklist, then residencies and cards end."""

    __tablename__ = "move_outs"
    # The ticket's number (as Ticket declares it) and the client's key: unique per estate.
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        UniqueConstraint("estate_id", "idempotency_key"),
    )
    __workflow__ = "move_out"
    id: Mapped[int] = mapped_column(primary_key=True)
    move_on: Mapped[date]
    # The occupancy category the unit takes from `move_on` (default vacant).
    occupancy: Mapped[str] = mapped_column(String(32))
    # {readings, cards_returned, keys_returned, ended: [residency ids]} at completion.
    clearance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The client's one-time key (core/idempotency.py) and the values it was sent with.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Set on the record a repeated create answers with; not stored.
    replayed = False

    unit: Mapped[Unit] = relationship()

    @property
    def kind(self) -> str:
        return "out"

    @property
    def is_open(self) -> bool:
        return self.status in MOVE_OUT_OPEN
