"""Write outbox rows in the business transaction; relay them once it has committed.

Services call `queue()` (or `bulk_queue()` for a fan-out) and never send anything
themselves. After the commit, `relay_soon()` hands due rows to RQ — or, without REDIS_URL,
delivers them in-process. A request never waits on Redis: if it is down the rows stay
pending and the minute sweep sends them when it is back.
"""

import logging
import time
from datetime import datetime

from flask import current_app, g, has_app_context
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from portal.core import clock
from portal.extensions import db
from portal.notify import quiet
from portal.notify.models import Channel, Delivery, OutboxMessage

log = logging.getLogger(__name__)
RELAY_BATCH = 500
RELAYED_CHANNELS = (Channel.app, Channel.sms, Channel.email)  # print goes out by print job


def address_for(user, channel: Channel) -> str | None:
    """Where a channel reaches a person; None when it cannot."""
    if channel == Channel.sms:
        return user.phone
    if channel == Channel.email:
        return user.email
    return None


def due_time(channel, *, urgent, send_at: datetime, estate_id, tz) -> datetime:
    """When a message may leave: its send time, moved past quiet hours for SMS and e-mail."""
    if urgent or channel not in quiet.HELD_CHANNELS:
        return send_at
    return quiet.release_time(send_at, estate_id=estate_id, tz=tz) or send_at


def queue(
    recipient,
    channel,
    *,
    kind,
    subject,
    body,
    estate,
    unit_id=None,
    notice_id=None,
    urgent=False,
    send_at=None,
    locale="zh_CN",
):
    """Add one outbox row; returns it, or None when the channel cannot reach the person."""
    rows = bulk_queue(
        [(recipient, unit_id)],
        [channel],
        kind=kind,
        subject=subject,
        body=body,
        estate=estate,
        notice_id=notice_id,
        urgent=urgent,
        send_at=send_at,
        locale=locale,
    )
    return rows[0] if rows else None


def bulk_queue(
    recipients,
    channels,
    *,
    kind,
    subject,
    body,
    estate,
    notice_id=None,
    urgent=False,
    send_at=None,
    locale="zh_CN",
) -> list[dict]:
    """Add outbox rows for (user or None, unit id) pairs × channels in one INSERT.

    A None user stands for the household itself (printed notice on the door). Returns the
    rows written (as dicts); channels that cannot reach a person are left out.
    """
    send_at = send_at or clock.now()
    due = {
        c: due_time(c, urgent=urgent, send_at=send_at, estate_id=estate.id, tz=estate.timezone)
        for c in map(Channel, channels)
    }
    now = clock.now()
    rows = []
    for user, unit_id in recipients:
        for channel in due:
            if (user is None) != (channel == Channel.print):
                continue
            address = address_for(user, channel) if user is not None else None
            if channel in (Channel.sms, Channel.email) and not address:
                continue
            rows.append(
                {
                    "estate_id": estate.id,
                    "recipient_id": user.id if user else None,
                    "unit_id": unit_id,
                    "notice_id": notice_id,
                    "channel": channel.value,
                    "kind": kind,
                    "address": address,
                    "subject": subject[:200],
                    "body": body,
                    "locale": (user.locale if user is not None and user.locale else locale),
                    "urgent": urgent,
                    "status": Delivery.pending.value,
                    "not_before": due[channel],
                    "attempts": 0,
                    "created_at": now,
                }
            )
    if rows:
        db.session.execute(OutboxMessage.__table__.insert(), rows)  # one executemany
        db.session.info["outbox_dirty"] = True
    return rows


def tell(user, *, kind, estate, render, channels=("app",), unit_id=None, urgent=False):
    """Queue a message to one person, written in their language: render() → (subject, body)."""
    from flask_babel import force_locale

    locale = user.locale or "zh_CN"
    with force_locale(locale):
        subject, body = (str(part) for part in render())
    return bulk_queue(
        [(user, unit_id)],
        channels,
        kind=kind,
        subject=subject,
        body=body,
        estate=estate,
        urgent=urgent,
        locale=locale,
    )


@event.listens_for(Session, "after_commit")
def _remember_commit(session):
    """Only a committed transaction's rows may leave; note that one did."""
    if session.info.pop("outbox_dirty", False) and has_app_context():
        g.outbox_committed = True


@event.listens_for(Session, "after_rollback")
def _forget_rollback(session):
    session.info.pop("outbox_dirty", None)


EMBEDDED_SWEEP_SECONDS = 30
_last_embedded_sweep = 0.0


def relay_soon() -> None:
    """After each request: hand on what its commit wrote.

    Without Redis there is no scheduler, so every EMBEDDED_SWEEP_SECONDS a request also
    sends what has become due since (scheduled notices, quiet hours, back-off).
    """
    global _last_embedded_sweep
    committed = g.pop("outbox_committed", False)
    connection = queue_connection()
    if connection is None:
        now = time.monotonic()
        if committed or now - _last_embedded_sweep >= EMBEDDED_SWEEP_SECONDS:
            _last_embedded_sweep = now
            relay_due()
        return
    if not committed:
        return
    try:
        from rq import Queue

        Queue("default", connection=connection).enqueue(
            "portal.notify.tasks.relay_due", job_timeout=600, result_ttl=60
        )
    except Exception as exc:  # Redis down: the rows wait for the sweep.
        log.warning("outbox relay deferred, queue unreachable: %s", exc)


def queue_connection():
    """A Redis connection with short timeouts, or None in the embedded mode."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)


def relay_due(limit: int | None = None) -> int:
    """Hand every due pending row on, in batches; returns how many were handed on."""
    from portal.notify import tasks

    connection = queue_connection()
    handed, seen = 0, set()
    while limit is None or handed < limit:
        stmt = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == Delivery.pending,
                OutboxMessage.not_before <= clock.now(),
                OutboxMessage.channel.in_([c.value for c in RELAYED_CHANNELS]),
            )
            .order_by(OutboxMessage.id)
            .limit(RELAY_BATCH)
        )
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(db.session.scalars(stmt))
        if not ids or seen.issuperset(ids):  # nothing new is due
            db.session.commit()
            break
        seen.update(ids)
        if connection is None:
            db.session.commit()
            tasks.deliver_batch(ids)
        else:
            try:
                tasks.enqueue_batch(connection, ids)
            except Exception as exc:
                db.session.rollback()
                log.warning("outbox relay stopped, queue unreachable: %s", exc)
                break
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(status=Delivery.queued, queued_at=clock.now())
            )
            db.session.commit()
        handed += len(ids)
    return handed
