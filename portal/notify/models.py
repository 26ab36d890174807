"""The outbox (one row per recipient and channel), the in-app inbox, and staff notices."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.people import User
from portal.core.places import Estate
from portal.core.types import UTCDateTime
from portal.extensions import db
from portal.notify.content import render as render_part


class Channel(StrEnum):
    """How a notice reaches a person (contracts §5 names app, sms, email; print is ours)."""

    app = "app"
    sms = "sms"
    email = "email"
    print = "print"

    @property
    def label(self):
        return CHANNEL_LABELS[self]


# Channels that wait out the estate's rest hours unless the message is urgent.
HELD_CHANNELS = frozenset({Channel.sms, Channel.email})


CHANNEL_LABELS = {
    Channel.app: _l("In the app"),
    Channel.sms: _l("SMS"),
    Channel.email: _l("E-mail"),
    Channel.print: _l("Printed notice"),
}


class Delivery(StrEnum):
    """Where an outbox row stands."""

    pending = "pending"  # committed, waiting for its time (send_at, quiet hours, backoff)
    queued = "queued"  # handed to the queue
    delivered = "delivered"
    failed = "failed"


class OutboxMessage(db.Model):
    """One message to one recipient over one channel, written in the business transaction.

    Its id is the delivery key: a retry of the same row never reaches anyone twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_notice_unit", "notice_id", "unit_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    channel: Mapped[Channel] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The in-app message's parts, to be written in the reader's language (notify/content.py).
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[Delivery] = mapped_column(String(10), default=Delivery.pending)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient: Mapped[User | None] = relationship()


class InboxMessage(db.Model):
    """A message in a person's in-app inbox: what the app channel delivers."""

    __tablename__ = "inbox_messages"
    __table_args__ = (Index("ix_inbox_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(50))
    # The text as written at sending, in the recipient's language of then: what old rows and
    # messages without content show.
    sent_title: Mapped[str] = mapped_column("title", String(200))
    sent_body: Mapped[str] = mapped_column("body", Text)
    # The message's parts (notify/content.py), written in the reader's language when shown.
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @hybrid_property
    def title(self) -> str:
        """The title in the language of the page showing it (in SQL: the title as sent)."""
        return render_part(self.content, "subject", self.sent_title)

    @title.inplace.setter
    def _title_setter(self, value: str) -> None:
        self.sent_title = value

    @title.inplace.expression
    @classmethod
    def _title_expression(cls):
        return cls.sent_title

    @hybrid_property
    def body(self) -> str:
        """The text in the language of the page showing it (in SQL: the text as sent)."""
        return render_part(self.content, "body", self.sent_body)

    @body.inplace.setter
    def _body_setter(self, value: str) -> None:
        self.sent_body = value

    @body.inplace.expression
    @classmethod
    def _body_expression(cls):
        return cls.sent_body


class Notice(db.Model):
    """A staff notice (通知/温馨提示) to the estate, zones, buildings or units."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSON)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    households: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    created_by: Mapped[User] = relationship()
    estate: Mapped[Estate] = relationship()
