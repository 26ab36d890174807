"""Passes (通行证): goods release slips (物品放行条), visitor passes (访客) and worker passes
(出入证), and every check of one at the gate.

A pass has a number people read (FX…, FK…, CR…, gap-free per estate) and a code nobody can
guess (the QR code on its PDF); the guard may type either. Whether a pass is inside its
window is not stored: it is read from `valid_from`/`valid_until` and the portal clock.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.people import User
from portal.core.places import Unit
from portal.core.types import UTCDateTime
from portal.extensions import db


class Kind(StrEnum):
    goods = "goods"
    visitor = "visitor"
    worker = "worker"

    @property
    def label(self):
        return KIND_LABELS[self]


KIND_LABELS = {
    Kind.goods: _l("Goods release pass"),
    Kind.visitor: _l("Visitor pass"),
    Kind.worker: _l("Worker pass"),
}
# The number's prefix per kind: 放行 FX, 访客 FK, 出入 CR.
PREFIXES = {Kind.goods: "FX", Kind.visitor: "FK", Kind.worker: "CR"}


class Status(StrEnum):
    pending = "pending"
    active = "active"
    used = "used"
    revoked = "revoked"

    @property
    def label(self):
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.pending: lazy_pgettext("pass", "Awaiting approval"),
    Status.active: lazy_pgettext("pass", "Active"),
    Status.used: lazy_pgettext("pass", "Used"),
    Status.revoked: lazy_pgettext("pass", "Revoked"),
}
LIVE_STATUSES = frozenset({Status.pending, Status.active})


class Result(StrEnum):
    """What a check at the gate finds."""

    valid = "valid"
    used = "used"
    outside_window = "outside_window"
    pending = "pending"
    revoked = "revoked"
    unknown = "unknown"

    @property
    def label(self):
        return RESULT_LABELS[self]


RESULT_LABELS = {
    Result.valid: lazy_pgettext("pass", "Valid"),
    Result.used: lazy_pgettext("pass", "Already used"),
    Result.outside_window: _l("Outside its validity window"),
    Result.pending: lazy_pgettext("pass", "Awaiting approval"),
    Result.revoked: lazy_pgettext("pass", "Revoked"),
    Result.unknown: _l("No such pass"),
}


class Pass(db.Model):
    """A goods, visitor or worker pass of one unit, valid from one moment to another."""

    __tablename__ = "passes"
    __gate_visible__ = True  # the guard sees passes of their estate (core/access.visible)
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        Index("ix_passes_estate_valid", "estate_id", "valid_from"),
        Index("ix_passes_source", "source_kind", "source_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    number: Mapped[str] = mapped_column(String(30))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    people: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    plate: Mapped[str | None] = mapped_column(String(20))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    # The ticket that made it (a move-out, a renovation …), when one did.
    source_kind: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    unit: Mapped[Unit] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def kind_enum(self) -> Kind:
        return Kind(self.kind)

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    def result_at(self, moment: datetime | None = None) -> Result:
        """What a check at `moment` (now by default) would find, before using it up."""
        moment = moment or clock.now()
        if self.status == Status.revoked:
            return Result.revoked
        if self.status == Status.used:
            return Result.used
        if self.status == Status.pending:
            return Result.pending
        if moment < self.valid_from or moment > self.valid_until:
            return Result.outside_window
        return Result.valid

    @property
    def in_window(self) -> bool:
        return self.valid_from <= clock.now() <= self.valid_until


class PassCheck(db.Model):
    """One check at the gate: who typed or scanned what, when, and what it found."""

    __tablename__ = "pass_checks"
    __gate_visible__ = True
    __table_args__ = (Index("ix_pass_checks_estate_at", "estate_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"))
    pass_id: Mapped[int | None] = mapped_column(ForeignKey("passes.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    result: Mapped[str] = mapped_column(String(16))
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    pass_: Mapped[Pass | None] = relationship()
    checked_by: Mapped[User] = relationship()

    @property
    def result_enum(self) -> Result:
        return Result(self.result)
