"""The audit page in the reader's words: its filters (person, kind of change, local days),
each record as a readable reference with a link where a page shows it, and each detail as a
labelled value. A page costs one statement per kind of record on it, however many rows."""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import get_timezone, lazy_pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal.blueprints.complaints.models import Complaint
from portal.blueprints.fees.contacts import OUTCOME_LABELS, RECORD_CHANNEL_LABELS
from portal.blueprints.fees.models import (
    METHOD_LABELS,
    Bill,
    CollectionRecord,
    FeeItem,
    OnlineOrder,
    Payment,
)
from portal.blueprints.repairs.models import Repair
from portal.core import settings
from portal.core.access import as_id, estate_ids_for, may_open, visible
from portal.core.audit import ACTION_LABELS, AuditEntry
from portal.core.money import yuan
from portal.core.people import RELATION_LABELS, ROLE_LABELS, StaffRole, User
from portal.core.places import (
    OCCUPANCY_LABELS,
    UNIT_KIND_LABELS,
    Building,
    Company,
    Estate,
    Unit,
    Zone,
)
from portal.core.units import labels_for
from portal.extensions import db
from portal.i18n import local_datetime
from portal.notify.models import CHANNEL_LABELS, Notice, OutboxMessage

# The words for the keys entries carry in `before` and `after` (setting keys are labelled
# by their declarations).
FIELD_LABELS = {
    "amount_fen": _l("Amount"),
    "rate_fen": _l("Rate"),
    "method": _l("Method"),
    "receipt": _l("Receipt number"),
    "reversal": _l("Reversing receipt"),
    "reason": _l("Reason"),
    "code": _l("Code"),
    "effective_on": _l("Effective from"),
    "occupancy": _l("Occupancy"),
    "unit_id": _l("Unit"),
    "channel": _l("Channel"),
    "channels": _l("Channels"),
    "outcome": _l("Outcome"),
    "status": _l("Status"),
    "title": _l("Title"),
    "households": _l("Households"),
    "username": _l("Username"),
    "role": _l("Role"),
    "estate": _l("Estate"),
    "kind": _l("Kind"),
    "area_m2": _l("Area (m²)"),
    "name": lazy_pgettext("organisation", "Name"),
    "person": lazy_pgettext("person", "Name"),
    "phone": _l("Phone"),
    "relation": _l("Relation"),
    "start_on": _l("First day"),
    "end_on": _l("Last day"),
    "zones": _l("Zones"),
}
STATUS_LABELS = {
    "pending": _l("Waiting to be sent"),
    "failed": _l("Failed"),
    "SUCCESS": _l("Paid"),
    "FAIL": _l("Payment failed"),
}
VALUE_LABELS = {
    "method": METHOD_LABELS,
    "occupancy": OCCUPANCY_LABELS,
    "kind": UNIT_KIND_LABELS,
    "role": ROLE_LABELS,
    "relation": RELATION_LABELS,
    "channel": RECORD_CHANNEL_LABELS,
    "outcome": OUTCOME_LABELS,
    "status": STATUS_LABELS,
}
STORED_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$"
)
PER_PAGE = 50


# --- Filters ---------------------------------------------------------------------------------


@dataclass
class Filters:
    """What the GET form asks for, as typed (to show it again) and as understood."""

    args: dict = field(default_factory=dict)
    person_id: int | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None
    errors: dict = field(default_factory=dict)


def people_for(actor) -> list[tuple[int, str]]:
    """The staff whose changes the actor may filter by: of the actor's estates, and the
    company-wide staff of their company, by name."""
    estates = select(Estate.id).where(estate_ids_for(actor))
    companies = select(Estate.company_id).where(estate_ids_for(actor))
    rows = db.session.execute(
        select(User.id, User.name, User.username)
        .join(StaffRole, StaffRole.user_id == User.id)
        .where(
            StaffRole.estate_id.in_(estates)
            | (StaffRole.estate_id.is_(None) & StaffRole.company_id.in_(companies))
        )
        .order_by(User.name, User.id)
    ).all()
    return [(uid, f"{name} ({username})" if username else name) for uid, name, username in rows]


def read_filters(args, people) -> Filters:
    """The filters of `?person=&kind=&since=&until=`; what cannot be understood is named in
    `errors` (field → message) and left out."""
    wanted = {k: (args.get(k) or "").strip()[:40] for k in ("person", "kind", "since", "until")}
    filters = Filters(args={k: v for k, v in wanted.items() if v})
    if wanted["person"]:
        person_id = as_id(wanted["person"])
        if person_id is None or person_id not in {pid for pid, _name in people}:
            filters.errors["person"] = _("Choose a person from the list.")
        else:
            filters.person_id = person_id
    if wanted["kind"]:
        if wanted["kind"] in ACTION_LABELS:
            filters.kind = wanted["kind"]
        else:
            filters.errors["kind"] = _("Choose a kind of change from the list.")
    for name in ("since", "until"):
        if wanted[name]:
            try:
                setattr(filters, name, date.fromisoformat(wanted[name]))
            except ValueError:
                filters.errors[name] = _("Enter a date like 2026-11-23.")
    if filters.since and filters.until and filters.since > filters.until:
        filters.errors["until"] = _("The last day must not be before the first.")
        filters.until = None
    return filters


def entries_statement(actor, filters: Filters):
    """The audit entries the actor may read that match the filters, newest first."""
    stmt = select(AuditEntry).where(readable(actor))
    if filters.person_id:
        stmt = stmt.where(AuditEntry.actor_id == filters.person_id)
    if filters.kind:
        stmt = stmt.where(AuditEntry.action == filters.kind)
    zone = ZoneInfo(str(get_timezone()))
    if filters.since:
        stmt = stmt.where(AuditEntry.at >= _utc(filters.since, zone))
    if filters.until and filters.until < date.max:
        stmt = stmt.where(AuditEntry.at < _utc(filters.until + timedelta(days=1), zone))
    return stmt.order_by(AuditEntry.id.desc())


def readable(actor):
    """The entries an actor may read: those of their estates and, for company-wide staff,
    the company-wide changes (no estate) that their company's staff made."""
    if not actor.is_company_wide:
        return visible(AuditEntry, actor)
    company_staff = select(StaffRole.user_id).where(
        StaffRole.company_id == actor.staff_role.company_id
    )
    return visible(AuditEntry, actor) | (
        AuditEntry.estate_id.is_(None) & AuditEntry.actor_id.in_(company_staff)
    )


def _utc(day: date, zone: ZoneInfo) -> datetime:
    """The start of a local day, in UTC."""
    try:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:  # the first day there is: no UTC instant before it
        return datetime.min.replace(tzinfo=UTC)


# --- What each entry says --------------------------------------------------------------------


@dataclass
class Line:
    """One entry as the page shows it."""

    entry: AuditEntry
    action: str
    reference: str
    link: str | None
    details: list = field(default_factory=list)  # (label, before or None, after or None)


def describe(entries) -> list[Line]:
    """Each entry in words, resolving the records they name with one statement per kind."""
    wanted: dict[str, set[int]] = {}
    for e in entries:
        if e.entity_id is not None:
            wanted.setdefault(e.entity_type, set()).add(e.entity_id)
        for values in (e.before or {}, e.after or {}):
            if isinstance(values.get("unit_id"), int):
                wanted.setdefault(Unit.__tablename__, set()).add(values["unit_id"])
    refs = {kind: RESOLVERS[kind](ids) for kind, ids in wanted.items() if kind in RESOLVERS}
    units = refs.get(Unit.__tablename__, {})
    lines = []
    for e in entries:
        text, link = refs.get(e.entity_type, {}).get(e.entity_id, (None, None))
        if text is None:
            text = f"{e.entity_type} #{e.entity_id}" if e.entity_id else e.entity_type
        lines.append(
            Line(
                entry=e,
                action=str(ACTION_LABELS.get(e.action, e.action)),
                reference=text,
                link=link,
                details=_details(e.before or {}, e.after or {}, units),
            )
        )
    return lines


def _details(before: dict, after: dict, units) -> list[tuple[str, str | None, str | None]]:
    keys = list(dict.fromkeys([*before, *after]))
    return [
        (
            field_label(key),
            _value(key, before[key], units) if key in before else None,
            _value(key, after[key], units) if key in after else None,
        )
        for key in keys
    ]


def field_label(key: str) -> str:
    """The words for a detail's key: a known field, a setting's label, else the key."""
    if key in FIELD_LABELS:
        return str(FIELD_LABELS[key])
    decl = settings.REGISTRY.get(key)
    return str(decl.label) if decl is not None else key


def _value(key: str, value, units) -> str:
    if value is None:
        return _("All estates") if key == "estate" else "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key.endswith("_fen") and isinstance(value, int):
        return "¥" + yuan(value)
    if key == "unit_id" and isinstance(value, int):
        return units.get(value, (str(value), None))[0]
    if key in VALUE_LABELS:
        return str(VALUE_LABELS[key].get(value, value))
    if key == "channels" and isinstance(value, str):
        return "、".join(str(CHANNEL_LABELS.get(c, c)) for c in value.split(",") if c)
    if isinstance(value, str) and STORED_DATETIME.match(value):
        try:
            return local_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    return str(value)


# --- One statement per kind of record --------------------------------------------------------


def _link(endpoint: str, **values) -> str | None:
    """The address of a page, if the reader may open it."""
    view = current_app.view_functions.get(endpoint)
    if view is None or not may_open(current_user, view):
        return None
    return url_for(endpoint, **values)


def _room(zone, building, number) -> str:
    return f"{zone} {building} {number}"


def _units(ids):
    return {
        unit_id: (label, _link("units.detail", unit_id=unit_id))
        for unit_id, label in labels_for(ids).items()
    }


def _with_room(stmt, unit_column):
    return (
        stmt.join(Unit, Unit.id == unit_column)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
    )


def _payments(ids):
    rows = db.session.execute(select(Payment.id, Payment.receipt_number).where(Payment.id.in_(ids)))
    return {
        pid: (_("Receipt %(number)s", number=number), _link("fees.receipt", number=number))
        for pid, number in rows
    }


def _bills(ids):
    rows = db.session.execute(
        _with_room(
            select(Bill.id, Bill.unit_id, FeeItem.name, Zone.name, Building.name, Unit.number)
            .join(FeeItem, FeeItem.id == Bill.fee_item_id)
            .where(Bill.id.in_(ids)),
            Bill.unit_id,
        )
    )
    return {
        bid: (f"{item} · {_room(z, b, n)}", _link("fees.unit_account", unit_id=unit_id))
        for bid, unit_id, item, z, b, n in rows
    }


def _collection_records(ids):
    rows = db.session.execute(
        _with_room(
            select(
                CollectionRecord.id, CollectionRecord.unit_id, Zone.name, Building.name, Unit.number
            ).where(CollectionRecord.id.in_(ids)),
            CollectionRecord.unit_id,
        )
    )
    return {
        rid: (_room(z, b, n), _link("fees.collection_records", unit_id=unit_id))
        for rid, unit_id, z, b, n in rows
    }


def _orders(ids):
    rows = db.session.execute(
        select(OnlineOrder.id, OnlineOrder.order_no, OnlineOrder.unit_id).where(
            OnlineOrder.id.in_(ids)
        )
    )
    return {
        oid: (_("Online order %(number)s", number=number), _link("fees.unit_account", unit_id=u))
        for oid, number, u in rows
    }


def _fee_items(ids):
    rows = db.session.execute(select(FeeItem.id, FeeItem.name).where(FeeItem.id.in_(ids)))
    return {iid: (name, _link("fees.items")) for iid, name in rows}


def _notices(ids):
    rows = db.session.execute(select(Notice.id, Notice.title).where(Notice.id.in_(ids)))
    return {nid: (title, _link("notices.detail", notice_id=nid)) for nid, title in rows}


def _outbox(ids):
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.subject).where(
            OutboxMessage.id.in_(ids)
        )
    )
    return {
        mid: (f"{CHANNEL_LABELS.get(channel, channel)}: {subject}", _link("admin.deliveries"))
        for mid, channel, subject in rows
    }


def _settings(ids):
    rows = db.session.execute(
        select(settings.Setting.id, settings.Setting.key).where(settings.Setting.id.in_(ids))
    )
    return {
        sid: (field_label(key), _link("admin.setting_edit", key=key))
        if key in settings.REGISTRY
        else (key, None)
        for sid, key in rows
    }


def _users(ids):
    rows = db.session.execute(
        select(User.id, User.name, User.username, StaffRole.id)
        .outerjoin(StaffRole, StaffRole.user_id == User.id)
        .where(User.id.in_(ids))
    )
    return {
        uid: (
            f"{name} ({username})" if username else name,
            _link("admin.user_detail", user_id=uid) if staff else None,
        )
        for uid, name, username, staff in rows
    }


def _named(model):
    def resolve(ids):
        rows = db.session.execute(select(model.id, model.name).where(model.id.in_(ids)))
        return {i: (name, None) for i, name in rows}

    return resolve


def _tickets(model, endpoint, argument):
    def resolve(ids):
        rows = db.session.execute(select(model.id, model.number).where(model.id.in_(ids)))
        return {i: (number, _link(endpoint, **{argument: i})) for i, number in rows}

    return resolve


RESOLVERS = {
    Unit.__tablename__: _units,
    Payment.__tablename__: _payments,
    Bill.__tablename__: _bills,
    CollectionRecord.__tablename__: _collection_records,
    OnlineOrder.__tablename__: _orders,
    FeeItem.__tablename__: _fee_items,
    Notice.__tablename__: _notices,
    OutboxMessage.__tablename__: _outbox,
    settings.Setting.__tablename__: _settings,
    User.__tablename__: _users,
    Company.__tablename__: _named(Company),
    Estate.__tablename__: _named(Estate),
    Repair.__tablename__: _tickets(Repair, "repairs.detail", "repair_id"),
    Complaint.__tablename__: _tickets(Complaint, "complaints.detail", "complaint_id"),
}
