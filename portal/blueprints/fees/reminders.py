"""The reminder ladder (催缴): rungs as data, the sweep that takes them, and staff contacts.

The ladder is a setting such as "-7:app,0:sms,15:sms+print,30:call,90:review": days from a
bill's due date and the channels used on that day. Each rung is taken once per bill and
logged as a CollectionRecord whose step names it ("sms@15"); the unique (bill, step) keeps
a second sweep — or two at once — from taking it again. Messages leave through the outbox
(quiet hours are applied at delivery), one per household and channel listing its bills.
"""

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from portal.core import clock, settings
from portal.core.errors import ServiceError
from portal.core.money import yuan
from portal.core.people import Relation
from portal.core.places import Estate
from portal.core.units import labels_for, residents_of
from portal.extensions import db
from portal.notify.content import freeze_message, text
from portal.notify.outbox import bulk_queue

from .ledger import open_bill, owed_fen
from .models import Bill, CollectionRecord, FeeItem

log = logging.getLogger(__name__)

CHANNELS = ("app", "sms", "print", "call", "review")
MESSAGE_CHANNELS = frozenset({"app", "sms"})
MAX_OFFSET_DAYS = 3650
UNITS_PER_BATCH = 200  # households per transaction
MAX_UNITS_PER_RUN = 5000  # the rest waits for the next run (every 15 minutes)
_OFFSET = re.compile(r"^[+-]?\d{1,5}$")


@dataclass(frozen=True)
class Rung:
    """One channel on one day of the ladder: `offset` days after the due date (negative:
    before it)."""

    offset: int
    channel: str

    @property
    def name(self) -> str:
        return f"{self.channel}@{self.offset}"

    def due(self, due_on: date, today: date) -> bool:
        return due_on + timedelta(days=self.offset) <= today


def _refuse(message, code: str):
    raise ServiceError(message, fields={"value": code})


def parse_ladder(text: str) -> list[Rung]:
    """The rungs of a ladder text, earliest first, or ServiceError saying what is wrong."""
    parts = [part.strip() for part in (text or "").split(",")]
    if not any(parts):
        _refuse(_l("Write the ladder like -7:app,0:sms,15:sms+print,30:call,90:review."), "format")
    rungs: list[Rung] = []
    for part in parts:
        if not part:
            _refuse(_l("The ladder has an empty step: remove the extra comma."), "format")
        for rung in _parse_step(part):
            if rung in rungs:
                _refuse(
                    _l(
                        "%(channel)s appears twice on day %(n)d.",
                        channel=rung.channel,
                        n=rung.offset,
                    ),
                    "duplicate",
                )
            rungs.append(rung)
    return sorted(rungs, key=lambda r: (r.offset, CHANNELS.index(r.channel)))


def _parse_step(step: str) -> list[Rung]:
    """ "15:sms+print" → its rungs."""
    days, colon, channels = (part.strip() for part in step.partition(":"))
    if not colon or not channels:
        _refuse(
            _l("Step “%(step)s” needs days and channels, e.g. 15:sms+print.", step=step), "format"
        )
    if not _OFFSET.match(days):
        _refuse(
            _l("Step “%(step)s”: the days must be a whole number, e.g. 15 or -7.", step=step),
            "offset",
        )
    offset = int(days)
    if abs(offset) > MAX_OFFSET_DAYS:
        _refuse(
            _l(
                "Step “%(step)s”: at most %(n)d days before or after the due date.",
                step=step,
                n=MAX_OFFSET_DAYS,
            ),
            "offset",
        )
    rungs = []
    for channel in (c.strip().lower() for c in channels.split("+")):
        if channel not in CHANNELS:
            _refuse(
                _l(
                    "Step “%(step)s”: unknown channel “%(channel)s”; "
                    "use app, sms, print, call or review.",
                    step=step,
                    channel=channel,
                ),
                "channel",
            )
        rungs.append(Rung(offset, channel))
    return rungs


LADDER = settings.declare(
    "fees.reminder_ladder",
    _l("Arrears reminder ladder"),
    str,
    "-7:app,0:sms,15:sms+print,30:call,90:review",
    help=_l(
        "Days from the due date and channels, e.g. -7:app,0:sms,15:sms+print,30:call,90:review. "
        "Channels: app, sms, print (payment slip), call (butler's call list), "
        "review (manager's review list)."
    ),
    validate=parse_ladder,
)


def ladder(estate_id: int | None = None) -> list[Rung]:
    """The estate's ladder; a stored value that no longer parses falls back to the default."""
    try:
        return parse_ladder(settings.get(LADDER.key, estate_id))
    except ServiceError:
        log.warning("fees.reminder_ladder of estate %s does not parse; default used", estate_id)
        return parse_ladder(LADDER.default)


def offset_of(step: str | None) -> int | None:
    """The day of a step name ("sms@15" → 15)."""
    try:
        return int(step.rpartition("@")[2]) if step else None
    except ValueError:
        return None


# ---- the sweep ---------------------------------------------------------------------------


def _untaken(rungs, today: date):
    """SQL: some rung of the ladder has come due for the bill and is not recorded."""
    return or_(
        *(
            and_(
                Bill.due_on <= today - timedelta(days=rung.offset),
                ~select(CollectionRecord.id)
                .where(CollectionRecord.bill_id == Bill.id, CollectionRecord.step == rung.name)
                .exists(),
            )
            for rung in rungs
        )
    )


def sweep_reminders(today: date | None = None) -> int:
    """The scheduled job: take every rung that has come due, once per bill, estate by
    estate, a batch of households per transaction; returns the rungs taken."""
    taken, budget = 0, MAX_UNITS_PER_RUN
    for estate in db.session.scalars(select(Estate).order_by(Estate.id)).all():
        if budget <= 0:
            break
        units, rungs = _sweep_estate(estate, today or clock.local_today(estate.timezone), budget)
        taken += rungs
        budget -= units
    return taken


def _sweep_estate(estate: Estate, today: date, budget: int) -> tuple[int, int]:
    rungs = ladder(estate.id)
    estate_id = estate.id
    untaken = _untaken(rungs, today)
    last_unit, units, taken = 0, 0, 0
    while units < budget:
        unit_ids = db.session.scalars(
            select(Bill.unit_id)
            .where(Bill.estate_id == estate_id, Bill.unit_id > last_unit, open_bill(), untaken)
            .group_by(Bill.unit_id)
            .order_by(Bill.unit_id)
            .limit(min(UNITS_PER_BATCH, budget - units))
        ).all()
        if not unit_ids:
            break
        last_unit, units = unit_ids[-1], units + len(unit_ids)
        try:
            taken += _take_rungs(db.session.get(Estate, estate_id), rungs, today, unit_ids)
            db.session.commit()
        except IntegrityError:
            # Another sweep took some of these rungs first; its notices are the ones sent.
            db.session.rollback()
            log.info("reminder batch of estate %s taken by another sweep", estate_id)
    return units, taken


RUNG_OUTCOMES = {"print": "waiting", "call": "to_call", "review": "to_review"}


def _take_rungs(estate: Estate, rungs, today: date, unit_ids) -> int:
    """Record the untaken rungs of these households' open bills and queue their messages."""
    bills = db.session.execute(
        select(
            Bill.id,
            Bill.unit_id,
            Bill.due_on,
            Bill.period_start,
            Bill.period_end,
            owed_fen().label("owed"),
            FeeItem.name.label("item"),
        )
        .join(FeeItem, FeeItem.id == Bill.fee_item_id)
        .where(Bill.estate_id == estate.id, Bill.unit_id.in_(unit_ids), open_bill())
        .order_by(Bill.unit_id, Bill.due_on, Bill.id)
    ).all()
    taken = set(
        db.session.execute(
            select(CollectionRecord.bill_id, CollectionRecord.step).where(
                CollectionRecord.bill_id.in_([b.id for b in bills]),
                CollectionRecord.step.in_([r.name for r in rungs]),
            )
        ).all()
    )
    now, records = clock.now(), []
    messages = defaultdict(list)  # (unit id, channel) → [(bill, record)]
    for bill in bills:
        due = [r for r in rungs if r.due(bill.due_on, today)]
        # A late first reminder says so once: earlier message rungs are passed over.
        latest = max((r.offset for r in due if r.channel in MESSAGE_CHANNELS), default=None)
        for rung in due:
            if (bill.id, rung.name) in taken:
                continue
            record = {
                "estate_id": estate.id,
                "unit_id": bill.unit_id,
                "bill_id": bill.id,
                "step": rung.name,
                "channel": rung.channel,
                "outcome": RUNG_OUTCOMES.get(rung.channel),
                "at": now,
            }
            if rung.channel in MESSAGE_CHANNELS:
                if rung.offset < latest:
                    record["outcome"] = "skipped"
                else:
                    messages[(bill.unit_id, rung.channel)].append((bill, record))
            records.append(record)
    if not records:
        return 0
    _send(estate, today, messages)
    db.session.execute(CollectionRecord.__table__.insert(), records)
    return len(records)


def _send(estate: Estate, today: date, messages) -> None:
    """One message per household and channel, to its current owners and tenants."""
    unit_ids = {unit_id for unit_id, _channel in messages}
    if not unit_ids:
        return
    labels = labels_for(list(unit_ids))
    hotline = settings.get("centre.hotline", estate.id)
    people = defaultdict(list)
    for residency in residents_of(list(unit_ids)):
        if residency.relation in (Relation.owner, Relation.tenant):
            people[residency.unit_id].append(residency.user)
    for (unit_id, channel), items in messages.items():
        bills = [bill for bill, _record in items]
        by_locale = defaultdict(list)
        for user in people[unit_id]:
            by_locale[user.locale or "zh_CN"].append((user, unit_id))
        sent = False
        for locale, recipients in by_locale.items():
            with force_locale(locale):
                subject, body = render_reminder(channel, labels[unit_id], bills, today, hotline)
                content = freeze_message(subject, body)
                subject, body = text(subject), text(body)
            sent |= bool(
                bulk_queue(
                    recipients,
                    [channel],
                    kind="fee_reminder",
                    subject=subject,
                    body=body,
                    estate=estate,
                    locale=locale,
                    content=content,
                )
            )
        for _bill, record in items:
            record["outcome"] = "sent" if sent else "no_contact"


def period_text(start: date | None, end: date | None) -> str:
    """ "2026-10" for a calendar month, "2026-10-01–2026-12-31" otherwise, "" for none."""
    if not start:
        return ""
    if end and start.day == 1 and (end + timedelta(days=1)).day == 1 and start.month == end.month:
        return start.strftime("%Y-%m")
    return f"{start.isoformat()}–{end.isoformat()}" if end else start.isoformat()


def render_reminder(channel: str, unit: str, bills, today: date, hotline: str):
    """Subject and text of a reminder listing a household's bills, as lazy strings (the text
    as lines): written in the current locale for SMS and e-mail, kept for the inbox to write
    again in its reader's language (notify/content.py)."""
    total = yuan(sum(b.owed for b in bills))
    first_due = min(b.due_on for b in bills).isoformat()
    if all(b.due_on > today for b in bills):
        subject = _l("Fees due soon: %(unit)s", unit=unit)
    else:
        subject = _l("Fees overdue: %(unit)s", unit=unit)
    if channel == "sms":
        items = _(", ").join(b.item for b in bills[:5]) + ("…" if len(bills) > 5 else "")
        body = _l(
            "%(unit)s owes %(total)s yuan (%(items)s), due %(due)s. Please pay at the service "
            "centre or online. Hotline %(hotline)s",
            unit=unit,
            total=total,
            items=items,
            due=first_due,
            hotline=hotline,
        )
        return subject, body
    lines = [_l("Dear resident of %(unit)s, these bills are open:", unit=unit)]
    for b in bills:
        lines.append(
            _l(
                "· %(item)s %(period)s: %(owed)s yuan owed, due %(due)s",
                item=b.item,
                period=period_text(b.period_start, b.period_end),
                owed=yuan(b.owed),
                due=b.due_on.isoformat(),
            )
        )
    lines.append(_l("Total: %(total)s yuan.", total=total))
    lines.append(
        _l(
            "Please pay at the service centre counter or online in the portal. "
            "Questions: %(hotline)s",
            hotline=hotline,
        )
    )
    return subject, lines
