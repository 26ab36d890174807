"""The demo's past, played through the real services with the portal clock set to each moment.

Everything the demo estate did in the last three months (billing runs, counter and online
payments, repairs and complaints through their workflows, notices) is an event at a moment
before now. The events run in time order with `clock.now()` fixed at each one, so every
created_at, due time, ticket number, receipt number, timeline row and inbox message is what
the engine writes when that happens on that day. The clock is given back as it was found
(running, or the frozen moment of a test).
"""

import gc
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from portal.core import clock
from portal.extensions import db
from portal.notify.channels import send_app_many
from portal.notify.models import Channel, Delivery, InboxMessage, OutboxMessage

DELIVERED_CHANNELS = (Channel.app.value, Channel.sms.value, Channel.email.value)
DELIVERY_BATCH = 1000  # inbox rows written at a time


@contextmanager
def fewer_collections():
    """A loader's session holds thousands of rows for its whole run: at the usual thresholds
    the garbage collector walked them so often that it took a third of the time."""
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


@dataclass
class Timeline:
    """Events of the demo's past, each a call at a moment no later than `now`."""

    now: datetime
    tz: ZoneInfo
    events: list = field(default_factory=list)

    def local(self, day: date, hour: float) -> datetime:
        """The UTC moment of a local time of day (hours with fractions: 9.5 is 09:30)."""
        start = datetime.combine(day, time(0), self.tz)
        return start.astimezone(UTC) + timedelta(hours=hour)

    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def at(self, moment: datetime, call: Callable, *args) -> bool:
        """Schedule `call(*args)` at `moment`; a moment after now is left out (False)."""
        if moment > self.now:
            return False
        self.events.append((moment, len(self.events), call, args))
        return True

    def play(self, progress=None) -> int:
        """Run every event in time order, each at its moment; then deliver what they sent."""
        self.events.sort(key=lambda e: (e[0], e[1]))
        for done, (moment, _n, call, args) in enumerate(self.events, start=1):
            with clock.at(moment):
                call(*args)
            if progress and done % 500 == 0:
                progress(f"  {done} of {len(self.events)} events")
        with clock.at(self.now):
            deliver_due()
        return len(self.events)


def deliver_due() -> int:
    """Deliver the outbox rows due by now as the relay and the channels would have, each
    when it was due (its sending, or the end of quiet hours for an SMS): app messages into
    the inbox, SMS and e-mail (no gateway in the demo) marked sent. One pass for the whole
    past instead of one per event; the times are those of a delivery right after each."""
    sent = OutboxMessage.__table__
    due = (
        sent.c.status == Delivery.pending.value,
        sent.c.not_before <= clock.now(),
        sent.c.channel.in_(DELIVERED_CHANNELS),
    )
    inbox = db.session.scalars(
        select(OutboxMessage).where(*due, OutboxMessage.channel == Channel.app)
    ).all()
    memo: dict = {}
    for start in range(0, len(inbox), DELIVERY_BATCH):
        send_app_many(inbox[start : start + DELIVERY_BATCH], memo)
    for message in inbox:  # the rows change below, behind the session's back
        db.session.expunge(message)
    db.session.execute(
        update(InboxMessage)
        .where(InboxMessage.outbox_id.in_(select(sent.c.id).where(*due)))
        .values(
            created_at=select(sent.c.not_before)
            .where(sent.c.id == InboxMessage.outbox_id)
            .scalar_subquery()
        )
    )
    return db.session.execute(
        update(sent)
        .where(*due)
        .values(status=Delivery.delivered.value, delivered_at=sent.c.not_before, attempts=1)
    ).rowcount
