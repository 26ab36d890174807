"""What the service centre keeps for a unit besides its people and its money: the access
and parking cards issued to it (门禁卡/停车卡), its meters' readings (抄表) and the keys the
centre holds for it (钥匙保管) with every movement of them.

A card number is unique per estate among the cards that are live (issued): a returned or
lost card's number may be issued again, so the rule is a partial unique index, which both
PostgreSQL and SQLite keep. A reading's value is a decimal with two places, stored as an
integer of hundredths (core/types.Hundredths), never a float.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.places import Unit
from portal.core.types import Hundredths, UTCDateTime
from portal.extensions import db


class CardKind(StrEnum):
    access = "access"
    parking = "parking"

    @property
    def label(self):
        return CARD_KIND_LABELS[self]


CARD_KIND_LABELS = {
    CardKind.access: _l("Access card"),
    CardKind.parking: _l("Parking card"),
}


class CardStatus(StrEnum):
    issued = "issued"
    returned = "returned"
    lost = "lost"

    @property
    def label(self):
        return CARD_STATUS_LABELS[self]


CARD_STATUS_LABELS = {
    CardStatus.issued: _l("Issued"),
    CardStatus.returned: _l("Returned"),
    CardStatus.lost: _l("Reported lost"),
}


class Meter(StrEnum):
    water = "water"
    electricity = "electricity"
    gas = "gas"

    @property
    def label(self):
        return METER_LABELS[self]


METER_LABELS = {
    Meter.water: _l("Water"),
    Meter.electricity: _l("Electricity"),
    Meter.gas: _l("Gas"),
}


class ReadingPurpose(StrEnum):
    first = "first"  # at a move-in's hand-over: the meter's first reading for the household
    final = "final"  # at a move-out
    routine = "routine"

    @property
    def label(self):
        return PURPOSE_LABELS[self]


PURPOSE_LABELS = {
    ReadingPurpose.first: _l("First reading (move-in)"),
    ReadingPurpose.final: _l("Final reading (move-out)"),
    ReadingPurpose.routine: _l("Routine reading"),
}


class KeyStatus(StrEnum):
    held = "held"  # in the centre's key cabinet
    lent = "lent"  # out with somebody (a decorator, an agent, a relative), due back
    handed_over = "handed_over"  # given to the owner: custody ended

    @property
    def label(self):
        return KEY_STATUS_LABELS[self]


KEY_STATUS_LABELS = {
    KeyStatus.held: _l("Held by the centre"),
    KeyStatus.lent: _l("Lent out"),
    KeyStatus.handed_over: _l("Handed over to the owner"),
}


class KeyAction(StrEnum):
    taken_in = "taken_in"
    lent = "lent"
    returned = "returned"
    handed_over = "handed_over"

    @property
    def label(self):
        return KEY_ACTION_LABELS[self]


KEY_ACTION_LABELS = {
    KeyAction.taken_in: _l("Taken into custody"),
    KeyAction.lent: _l("Lent out"),
    KeyAction.returned: _l("Brought back"),
    KeyAction.handed_over: _l("Handed over to the owner"),
}

LIVE_CARD = text("status = 'issued'")


class Card(db.Model):
    """An access or parking card issued to a unit, from issue to its return or loss."""

    __tablename__ = "cards"
    __table_args__ = (
        # One live card per number in an estate; returned and lost numbers may come back.
        Index(
            "uq_cards_estate_number_live",
            "estate_id",
            "number",
            unique=True,
            sqlite_where=LIVE_CARD,
            postgresql_where=LIVE_CARD,
        ),
        Index("ix_cards_estate_number", "estate_id", "number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=CardStatus.issued)
    issued_on: Mapped[date]
    returned_on: Mapped[date | None]
    lost_on: Mapped[date | None]
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    # What issued it (a move-in's hand-over: "move_in" and the ticket's id), if anything.
    source_kind: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None]
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    unit: Mapped[Unit] = relationship()

    @property
    def kind_enum(self) -> CardKind:
        return CardKind(self.kind)

    @property
    def status_enum(self) -> CardStatus:
        return CardStatus(self.status)

    @property
    def is_live(self) -> bool:
        return self.status == CardStatus.issued


class MeterReading(db.Model):
    """One reading of a unit's water, electricity or gas meter on a day, with its reason
    (a move-in's first reading, a move-out's final one, a routine round)."""

    __tablename__ = "meter_readings"
    __table_args__ = (Index("ix_meter_readings_unit_meter", "unit_id", "meter", "read_on", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    meter: Mapped[str] = mapped_column(String(12))
    value: Mapped[Decimal] = mapped_column(Hundredths)
    read_on: Mapped[date]
    purpose: Mapped[str] = mapped_column(String(10))
    source_kind: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def meter_enum(self) -> Meter:
        return Meter(self.meter)

    @property
    def purpose_enum(self) -> ReadingPurpose:
        return ReadingPurpose(self.purpose)


class KeySet(db.Model):
    """A set of a unit's keys the centre keeps (an owner not yet moved in, a vacant unit):
    where it is now, and, while lent, to whom and until when (the last movement says more)."""

    __tablename__ = "key_sets"
    __table_args__ = (Index("ix_key_sets_estate_status", "estate_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    count: Mapped[int]
    status: Mapped[str] = mapped_column(String(15), default=KeyStatus.held)
    held_since: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(500))
    # Who left the keys with the centre (the custody slip names them).
    left_by_name: Mapped[str | None] = mapped_column(String(100))
    left_by_phone: Mapped[str | None] = mapped_column(String(20))
    # The current loan, while lent (repeated from its movement so the register reads one row).
    lent_to: Mapped[str | None] = mapped_column(String(100))
    due_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    unit: Mapped[Unit] = relationship()
    movements: Mapped[list["KeyMovement"]] = relationship(
        back_populates="key_set", order_by="KeyMovement.id"
    )

    @property
    def status_enum(self) -> KeyStatus:
        return KeyStatus(self.status)

    @property
    def is_overdue(self) -> bool:
        return (
            self.status == KeyStatus.lent
            and self.due_back_at is not None
            and self.due_back_at < clock.now()
        )


class KeyMovement(db.Model):
    """One movement of a key set: taken in, lent (to whom, why, due back when), brought
    back, handed over to the owner. Rows are never changed except a loan's `back_at`."""

    __tablename__ = "key_movements"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_set_id: Mapped[int] = mapped_column(ForeignKey("key_sets.id"), index=True)
    action: Mapped[str] = mapped_column(String(15))
    person_name: Mapped[str | None] = mapped_column(String(100))
    person_phone: Mapped[str | None] = mapped_column(String(20))
    person_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    due_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    key_set: Mapped[KeySet] = relationship(back_populates="movements")

    @property
    def action_enum(self) -> KeyAction:
        return KeyAction(self.action)
