"""Staff notices: compose to an audience, fan out through the outbox, read, acknowledge,
and the per-household receipts with the call list. Delivery is notify's."""

import functools
from datetime import timedelta

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, bindparam, case, event, func, or_, select

from portal.core import audit, clock
from portal.core.access import visible
from portal.core.errors import NotAllowed, ServiceError
from portal.core.people import (
    Residency,
    User,
    current_residency_clause,
    known_figure,
    page_figure,
    relation_order,
)
from portal.core.places import Building, Estate, Unit, Zone
from portal.core.units import labels_for
from portal.extensions import db
from portal.jobs import Job
from portal.notify import outbox
from portal.notify.models import Channel, Delivery, InboxMessage, Notice, OutboxMessage

MAX_TITLE = 100
MAX_BODY = 5000


def _check_text(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    errors = {}
    if not title:
        errors["title"] = _l("Give the notice a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _l("At most %(n)d characters.", n=MAX_TITLE)
    if not body:
        errors["body"] = _l("Write what the notice says.")
    elif len(body) > MAX_BODY:
        errors["body"] = _l("At most %(n)d characters.", n=MAX_BODY)
    if errors:
        message = next(iter(errors.values()))
        raise ServiceError(message, fields={k: str(v) for k, v in errors.items()})
    return title, body


def audience_units(estate: Estate, *, zone_ids=(), building_ids=(), unit_ids=()):
    """A SELECT of the estate's unit ids in the audience; no ids at all means the estate.

    Ids from another estate (or made up) are an error, not silently dropped.
    """
    zone_ids, building_ids, unit_ids = (
        set(zone_ids or ()),
        set(building_ids or ()),
        set(unit_ids or ()),
    )
    checks = (
        (Zone, zone_ids, "zone_ids", Zone.estate_id == estate.id),
        (
            Building,
            building_ids,
            "building_ids",
            Building.zone_id.in_(select(Zone.id).where(Zone.estate_id == estate.id)),
        ),
        (Unit, unit_ids, "unit_ids", Unit.estate_id == estate.id),
    )
    for model, ids, field, in_estate in checks:
        if ids:
            found = set(db.session.scalars(select(model.id).where(model.id.in_(ids), in_estate)))
            if found != ids:
                raise ServiceError(
                    _l("Some of the chosen places are not in this estate."),
                    fields={field: "unknown"},
                )
    stmt = (
        select(Unit.id)
        .join(Building, Building.id == Unit.building_id)
        .where(Unit.estate_id == estate.id)
    )
    if zone_ids or building_ids or unit_ids:
        stmt = stmt.where(
            or_(
                Building.zone_id.in_(zone_ids),
                Unit.building_id.in_(building_ids),
                Unit.id.in_(unit_ids),
            )
        )
    return stmt


def compose_notice(
    actor,
    *,
    estate,
    title,
    body,
    channels,
    zone_ids=(),
    building_ids=(),
    unit_ids=(),
    urgent=False,
    requires_ack=False,
    send_at=None,
) -> Notice:
    """Create a notice and its outbox rows (one per resident and channel, one printed notice
    per household); nothing leaves before the commit."""
    if not actor.is_staff:
        raise NotAllowed(_l("Only staff send notices."))
    title, body = _check_text(title, body)
    try:
        channels = sorted({Channel(c) for c in channels or ()})
    except ValueError:
        raise ServiceError(
            _l("Choose channels from app, sms, email and print."), fields={"channels": "unknown"}
        ) from None
    if not channels:
        raise ServiceError(_l("Choose at least one channel."), fields={"channels": "required"})
    now = clock.now()
    if send_at is not None:
        if send_at.tzinfo is None:
            raise ServiceError(
                _l("Give the send time with its time zone."), fields={"send_at": "naive"}
            )
        if send_at < now - timedelta(minutes=1):
            raise ServiceError(_l("The send time has passed."), fields={"send_at": "past"})
    units = audience_units(estate, zone_ids=zone_ids, building_ids=building_ids, unit_ids=unit_ids)
    # Plain rows (id, phone, email, locale), not ORM objects: a fan-out reads 20,000 of them.
    residents = db.session.execute(
        select(Residency.unit_id, User.id, User.phone, User.email, User.locale)
        .join(User, User.id == Residency.user_id)
        .where(Residency.unit_id.in_(units), current_residency_clause(), User.is_active)
        .order_by(User.id, Residency.unit_id)
    ).all()
    people, seen = [], set()
    for person in residents:  # one copy per person, counted at their first unit
        if person.id not in seen:
            seen.add(person.id)
            people.append((person, person.unit_id))
    households = {unit_id for _, unit_id in people}
    if Channel.print in channels:
        unit_list = list(db.session.scalars(units))
        households |= set(unit_list)
        people += [(None, unit_id) for unit_id in unit_list]
    if not households:
        raise ServiceError(
            _l("Nobody lives in the chosen places: the notice would reach no one."),
            fields={"audience": "empty"},
        )
    notice = Notice(
        estate_id=estate.id,
        title=title,
        body=body,
        channels=[c.value for c in channels],
        urgent=bool(urgent),
        requires_ack=bool(requires_ack),
        send_at=send_at or now,
        audience={
            "zone_ids": sorted(set(zone_ids or ())),
            "building_ids": sorted(set(building_ids or ())),
            "unit_ids": sorted(set(unit_ids or ())),
        },
        households=len(households),
        created_by_id=actor.id,
    )
    db.session.add(notice)
    db.session.flush()
    outbox.bulk_queue(
        people,
        channels,
        kind="notice",
        subject=title,
        body=body,
        estate=estate,
        notice_id=notice.id,
        urgent=bool(urgent),
        send_at=notice.send_at,
    )
    audit.record(
        "notice.send",
        notice,
        actor=actor,
        after={
            "title": title,
            "households": len(households),
            "channels": ",".join(c.value for c in channels),
        },
    )
    return notice


def inbox_for(user):
    """A SELECT of a person's inbox, newest first."""
    return (
        select(InboxMessage)
        .where(InboxMessage.user_id == user.id)
        .order_by(InboxMessage.created_at.desc(), InboxMessage.id.desc())
    )


def latest_inbox(user, n: int = 3) -> list[InboxMessage]:
    """The newest messages of a person's inbox (the resident home's card)."""
    return db.session.scalars(_latest_inbox_statement(), {"user": user.id, "n": n}).all()


@functools.cache
def _latest_inbox_statement():
    return (
        select(InboxMessage)
        .where(InboxMessage.user_id == bindparam("user"))
        .order_by(InboxMessage.created_at.desc(), InboxMessage.id.desc())
        .limit(bindparam("n", type_=Integer))
    )


def unread_count(user) -> int:
    """The bell's figure: the person's unread inbox messages (every page shows it). Read
    with the person at the start of the request (a page figure), unless this request has
    changed an inbox row since."""
    known = known_figure(user, "unread")
    if known is not None and not g.get("inbox_changed"):
        return known
    return db.session.scalar(_unread_statement(), {"user": user.id}) or 0


def _unread_of_person():
    return (
        select(func.count(InboxMessage.id))
        .where(InboxMessage.user_id == User.id, InboxMessage.read_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )


page_figure("unread", _unread_of_person)


@event.listens_for(InboxMessage, "after_insert")
@event.listens_for(InboxMessage, "after_update")
def _inbox_changed(_mapper, _connection, _target):
    """A message came or was read: the bell counts again if this request shows a page."""
    if has_app_context():
        g.inbox_changed = True


@functools.cache
def _unread_statement():
    return select(func.count(InboxMessage.id)).where(
        InboxMessage.user_id == bindparam("user"), InboxMessage.read_at.is_(None)
    )


def addressed_to(user):
    """The SQL condition for inbox messages that are `user`'s own."""
    return InboxMessage.user_id == user.id


def mark_read(item: InboxMessage) -> InboxMessage:
    """Mark an inbox message read (once; the first time is kept)."""
    if item.read_at is None:
        item.read_at = clock.now()
    return item


def acknowledge(item: InboxMessage) -> InboxMessage:
    """The resident confirms a notice that asks for it; reading is implied."""
    if not item.requires_ack:
        raise ServiceError(_l("This notice does not ask for a confirmation."), status=409)
    mark_read(item)
    if item.acknowledged_at is None:
        item.acknowledged_at = clock.now()
    return item


def receipts(notice: Notice):
    """Per household: delivered (any channel), read and acknowledged (anyone there), in
    two GROUP BY queries whatever the number of households."""
    delivered = db.session.execute(
        select(
            OutboxMessage.unit_id,
            func.max(case((OutboxMessage.status == Delivery.delivered, 1), else_=0)),
            func.max(case((OutboxMessage.status == Delivery.failed, 1), else_=0)),
            func.max(OutboxMessage.delivered_at),
        )
        .where(OutboxMessage.notice_id == notice.id)
        .group_by(OutboxMessage.unit_id)
    ).all()
    reads = dict(
        (unit_id, (read_at, ack_at))
        for unit_id, read_at, ack_at in db.session.execute(
            select(
                InboxMessage.unit_id,
                func.min(InboxMessage.read_at),
                func.min(InboxMessage.acknowledged_at),
            )
            .where(InboxMessage.notice_id == notice.id)
            .group_by(InboxMessage.unit_id)
        )
    )
    labels = labels_for(select(OutboxMessage.unit_id).where(OutboxMessage.notice_id == notice.id))
    rows = []
    for unit_id, any_delivered, any_failed, delivered_at in delivered:
        read_at, ack_at = reads.get(unit_id, (None, None))
        rows.append(
            {
                "unit_id": unit_id,
                "unit": labels.get(unit_id, ""),
                "delivered": bool(any_delivered),
                "failed": bool(any_failed),
                "delivered_at": delivered_at,
                "read_at": read_at,
                "acknowledged_at": ack_at,
            }
        )
    rows.sort(key=lambda r: r["unit"])
    return rows


def call_list(notice: Notice, rows):
    """Households that have not acknowledged, with the phones to call (one query)."""
    waiting = [r["unit_id"] for r in rows if r["acknowledged_at"] is None]
    if not waiting:
        return []
    phones = {}
    for unit_id, name, phone in db.session.execute(
        select(Residency.unit_id, User.name, User.phone)
        .join(User, User.id == Residency.user_id)
        .where(Residency.unit_id.in_(waiting), current_residency_clause(), User.phone.is_not(None))
        .order_by(Residency.unit_id, relation_order())
    ):
        phones.setdefault(unit_id, []).append((name, phone))
    by_unit = {r["unit_id"]: r for r in rows}
    return [
        {"unit_id": u, "unit": by_unit[u]["unit"], "people": phones.get(u, [])}
        for u in sorted(waiting, key=lambda u: by_unit[u]["unit"])
    ]


def visible_notices(actor):
    """A SELECT of the notices staff of the actor's estate(s) may see."""
    return (
        select(Notice)
        .where(visible(Notice, actor))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
    )


def outbox_summary(notice_ids):
    """Delivered / waiting / failed counts per notice, in one GROUP BY."""
    if not notice_ids:
        return {}
    counts = {}
    for notice_id, status, n in db.session.execute(
        select(OutboxMessage.notice_id, OutboxMessage.status, func.count())
        .where(OutboxMessage.notice_id.in_(notice_ids))
        .group_by(OutboxMessage.notice_id, OutboxMessage.status)
    ):
        counts.setdefault(notice_id, {})[status] = n
    return counts


def print_jobs(notice: Notice, limit: int = 5):
    """The notice's latest print jobs (one PDF per building), newest first."""
    return db.session.scalars(
        select(Job)
        .where(
            Job.kind == "notice_print",
            Job.estate_id == notice.estate_id,
            Job.params["notice_id"].as_integer() == notice.id,
        )
        .order_by(Job.id.desc())
        .limit(limit)
    ).all()
