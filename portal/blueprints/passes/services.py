"""Pass services: the only code that issues, approves, revokes, extends or checks a pass.

Other lines call these (a move-out issues a goods pass, a renovation its worker passes and
revokes or extends them with its own window, by `source_kind`/`source_id`). Services flush,
never commit, and raise ServiceError with the fields at fault.
"""

import re
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.core import audit, clock, settings
from portal.core.access import DESK, GATE, visible
from portal.core.errors import Conflict, NotAllowed, ServiceError
from portal.core.people import Relation, Residency, current_residency_clause
from portal.core.residents import normalize_phone
from portal.core.sequence import next_in_sequence
from portal.extensions import db

from .models import LIVE_STATUSES, PREFIXES, Kind, Pass, PassCheck, Result, Status

MAX_ITEMS = 30
MAX_PEOPLE = 20
MAX_NAME = 100
MAX_QUANTITY = 9999
MAX_ID_NUMBER = 30
MAX_PLATE = 16
MAX_REASON = 200
MAX_TYPED = 40  # what a check keeps of the typed text
# How far ahead a pass may start.
MAX_AHEAD = timedelta(days=366)
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
NUMBER_RE = re.compile(r"^[A-Za-z]{2}\d{12}$")
PLATE_RE = re.compile(r"^[0-9A-Z\u4e00-\u9fff·-]{2,16}$")
ID_NUMBER_RE = re.compile(r"^[0-9A-Za-z]{4,30}$")

MAX_DAYS = {
    Kind.goods: settings.declare(
        "passes.goods_max_days",
        _l("Longest window of a goods release pass (days)"),
        int,
        3,
        minimum=1,
        maximum=31,
    ),
    Kind.visitor: settings.declare(
        "passes.visitor_max_days",
        _l("Longest window of a visitor pass (days)"),
        int,
        7,
        minimum=1,
        maximum=366,
    ),
    Kind.worker: settings.declare(
        "passes.worker_max_days",
        _l("Longest window of a worker pass (days)"),
        int,
        180,
        minimum=1,
        maximum=731,
    ),
}
# What residents may ask for; worker passes come with a renovation, from the desk.
RESIDENT_KINDS = frozenset({Kind.goods, Kind.visitor})


def _invalid(message, field: str, code: str = "invalid"):
    return ServiceError(message, fields={field: code})


def _relation_of(actor, unit_id: int) -> Relation | None:
    """How the actor holds the unit today (None: they hold it not)."""
    relation = db.session.scalar(
        select(Residency.relation)
        .where(
            Residency.user_id == actor.id,
            Residency.unit_id == unit_id,
            current_residency_clause(),
        )
        .order_by(Residency.relation == Relation.tenant.value)  # owner/family first
        .limit(1)
    )
    return Relation(relation) if relation else None


def _kind(kind) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        raise _invalid(_l("Choose one of the options offered."), "kind", "unknown") from None


def _window(kind: Kind, valid_from, valid_until, estate_id: int) -> tuple[datetime, datetime]:
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise _invalid(_l("Enter a date and time."), name, "required")
    if valid_until <= valid_from:
        raise _invalid(_l("The pass must end after it starts."), "valid_until", "before_start")
    if valid_until <= clock.now():
        raise _invalid(_l("This window has already ended."), "valid_until", "past")
    if valid_from > clock.now() + MAX_AHEAD:
        raise _invalid(_l("A pass can start at most a year ahead."), "valid_from", "range")
    days = settings.get(MAX_DAYS[kind].key, estate_id)
    if valid_until - valid_from > timedelta(days=days):
        raise _invalid(
            _l("This pass may last at most %(n)d days.", n=days), "valid_until", "too_long"
        )
    return valid_from, valid_until


def _text(value, field: str, limit: int, *, required=True) -> str | None:
    text = " ".join(str(value or "").split())
    if not text:
        if required:
            raise _invalid(_l("This field is required."), field, "required")
        return None
    if len(text) > limit:
        raise _invalid(_l("At most %(n)d characters.", n=limit), field, "length")
    return text


def _items(kind: Kind, items) -> list[dict]:
    items = list(items or [])
    if kind == Kind.goods and not items:
        raise _invalid(_l("List what leaves the estate."), "items", "required")
    if len(items) > MAX_ITEMS:
        raise _invalid(_l("At most %(n)d lines.", n=MAX_ITEMS), "items", "too_many")
    clean = []
    for item in items:
        item = item if isinstance(item, dict) else {}
        name = _text(item.get("name"), "items", MAX_NAME)
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int | str):
            raise _invalid(_l("Enter a whole number."), "items", "quantity")
        quantity = str(quantity).strip()
        if not (quantity.isascii() and quantity.isdecimal()) or len(quantity) > 4:
            raise _invalid(_l("Enter a whole number."), "items", "quantity")
        if not 1 <= int(quantity) <= MAX_QUANTITY:
            raise _invalid(_l("Must be at least %(n)s.", n=1), "items", "quantity")
        clean.append({"name": name, "quantity": int(quantity)})
    return clean


def _people(kind: Kind, people) -> list[dict]:
    people = list(people or [])
    if kind in (Kind.visitor, Kind.worker) and not people:
        raise _invalid(_l("Name at least one person."), "people", "required")
    if len(people) > MAX_PEOPLE:
        raise _invalid(_l("At most %(n)d people.", n=MAX_PEOPLE), "people", "too_many")
    clean = []
    for person in people:
        person = person if isinstance(person, dict) else {}
        entry = {"name": _text(person.get("name"), "people", MAX_NAME)}
        id_number = _text(person.get("id_number"), "people", MAX_ID_NUMBER, required=False)
        if id_number:
            if not ID_NUMBER_RE.match(id_number):
                raise _invalid(_l("An ID number has letters and digits only."), "people", "id")
            entry["id_number"] = id_number.upper()
        if str(person.get("phone") or "").strip():
            entry["phone"] = normalize_phone(person["phone"], "people")
        clean.append(entry)
    return clean


def _plate(plate) -> str | None:
    plate = re.sub(r"[\s]", "", str(plate or "")).upper()
    if not plate:
        return None
    if not PLATE_RE.match(plate):
        raise _invalid(_l("Enter a plate number such as 沪A12345."), "plate", "format")
    return plate


def _may_issue(actor, unit, kind: Kind) -> Status:
    """The status a new pass starts in for this actor, or the refusal."""
    if actor.is_staff:
        if actor.role not in DESK:
            raise NotAllowed(_l("Your role may not issue passes."))
        return Status.active
    relation = _relation_of(actor, unit.id)
    if relation is None:
        raise ServiceError(
            _l("There is nothing here."), fields={"unit_id": "not_found"}, status=404
        )
    if kind not in RESIDENT_KINDS:
        raise NotAllowed(
            _l("Worker passes come with a renovation application; ask the service centre."),
            fields={"kind": "staff_only"},
        )
    if kind == Kind.goods and relation == Relation.tenant:
        return Status.pending
    return Status.active


def new_code() -> str:
    """An unguessable code for the QR (16 URL-safe characters, 96 bits)."""
    return secrets.token_urlsafe(12)


def issue_pass(
    *,
    kind,
    unit,
    valid_from,
    valid_until,
    actor,
    items=None,
    people=None,
    plate=None,
    source_kind=None,
    source_id=None,
) -> Pass:
    """Issue a pass for a unit: staff at once; a resident a goods or visitor pass for their
    own current unit (a tenant's goods pass waits for the owner's or the desk's approval)."""
    kind = _kind(kind)
    status = _may_issue(actor, unit, kind)
    valid_from, valid_until = _window(kind, valid_from, valid_until, unit.estate_id)
    clean_items = _items(kind, items) if kind == Kind.goods else []
    clean_people = _people(kind, people)
    plate = _plate(plate)
    source_kind = _text(source_kind, "source_kind", 30, required=False)
    if source_id is not None and (isinstance(source_id, bool) or not isinstance(source_id, int)):
        raise _invalid(_l("This value is not valid."), "source_id")
    now = clock.now()
    pass_ = Pass(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        kind=kind.value,
        number=next_in_sequence(unit.estate_id, f"pass_{kind.value}", PREFIXES[kind]),
        code=new_code(),
        status=status.value,
        valid_from=valid_from,
        valid_until=valid_until,
        items=clean_items,
        people=clean_people,
        plate=plate,
        requested_by_id=actor.id,
        approved_by_id=actor.id if status == Status.active else None,
        approved_at=now if status == Status.active else None,
        source_kind=source_kind,
        source_id=source_id,
        created_at=now,
    )
    db.session.add(pass_)
    db.session.flush()
    audit.record(
        "pass.issue",
        pass_,
        actor=actor,
        after={"number": pass_.number, "kind": kind.value, "status": status.value},
    )
    if status == Status.pending:
        _ask_owners(pass_)
    return pass_


# --- Notices (through the outbox, after the commit) -----------------------------------------


def _tell(users, pass_: Pass, kind: str, subject, body) -> None:
    from portal.core.places import Estate
    from portal.notify.outbox import tell

    estate = db.session.get(Estate, pass_.estate_id)
    for user in users:
        tell(
            user,
            kind=kind,
            estate=estate,
            unit_id=pass_.unit_id,
            render=lambda: (subject, body),
        )


def _owners_of(unit_id: int):
    from portal.core.people import User

    return db.session.scalars(
        select(User)
        .join(Residency, Residency.user_id == User.id)
        .where(
            Residency.unit_id == unit_id,
            Residency.relation == Relation.owner.value,
            current_residency_clause(),
        )
        .order_by(User.id)
    ).all()


def _ask_owners(pass_: Pass) -> None:
    """The owners of the unit hear that a tenant's goods pass waits for them."""
    _tell(
        _owners_of(pass_.unit_id),
        pass_,
        "pass_pending",
        _l("Goods release pass %(n)s awaits your approval", n=pass_.number),
        _l(
            "Your tenant asks to take goods out of the estate. Approve it under My passes, "
            "or ask the service centre."
        ),
    )


def _tell_approved(pass_: Pass, actor) -> None:
    if pass_.requested_by_id == actor.id:
        return
    from portal.core.people import User

    _tell(
        [db.session.get(User, pass_.requested_by_id)],
        pass_,
        "pass_approved",
        _l("Goods release pass %(n)s approved", n=pass_.number),
        _l("Show its QR code or its number at the gate."),
    )


def can_approve(actor, pass_: Pass) -> bool:
    """The desk of the pass's estate, or a current owner of its unit, while it is pending."""
    if pass_.status != Status.pending:
        return False
    if actor.is_staff:
        return actor.role in DESK
    return _relation_of(actor, pass_.unit_id) == Relation.owner


def can_revoke(actor, pass_: Pass) -> bool:
    """The desk, the unit's owner or whoever asked for it, while it is pending or active."""
    if pass_.status not in LIVE_STATUSES:
        return False
    if actor.is_staff:
        return actor.role in DESK
    return pass_.requested_by_id == actor.id or _relation_of(actor, pass_.unit_id) == (
        Relation.owner
    )


def approve_pass(pass_: Pass, *, actor) -> Pass:
    """A tenant's goods pass is approved by the unit's owner or the desk: it becomes active."""
    if pass_.status != Status.pending:
        raise Conflict(
            _l("Only a pass awaiting approval can be approved."), fields={"status": pass_.status}
        )
    if not can_approve(actor, pass_):
        raise NotAllowed(_l("Only the owner of the unit or the service centre can approve."))
    pass_.status = Status.active.value
    pass_.approved_by_id = actor.id
    pass_.approved_at = clock.now()
    db.session.flush()
    audit.record("pass.approve", pass_, actor=actor, after={"number": pass_.number})
    _tell_approved(pass_, actor)
    return pass_


def revoke_pass(pass_: Pass, *, actor, reason) -> Pass:
    """Withdraw a pending or active pass, saying why; the gate then refuses it."""
    if pass_.status not in LIVE_STATUSES:
        raise Conflict(_l("This pass is no longer live."), fields={"status": pass_.status})
    if not can_revoke(actor, pass_):
        raise NotAllowed(_l("You may not revoke this pass."))
    reason = _text(reason, "reason", MAX_REASON)
    _revoke(pass_, actor, reason)
    return pass_


def _revoke(pass_: Pass, actor, reason: str) -> None:
    before = pass_.status
    pass_.status = Status.revoked.value
    pass_.revoked_by_id = actor.id if actor is not None else None
    pass_.revoked_at = clock.now()
    pass_.revoke_reason = reason
    db.session.flush()
    audit.record(
        "pass.revoke",
        pass_,
        actor=actor,
        before={"status": before},
        after={"number": pass_.number, "reason": reason},
    )


def _of_source(source_kind: str, source_id: int):
    return select(Pass).where(
        Pass.source_kind == source_kind,
        Pass.source_id == source_id,
        Pass.status.in_([s.value for s in LIVE_STATUSES]),
    )


def revoke_passes(source_kind, source_id, *, actor, reason) -> int:
    """Revoke the live passes a ticket made (a renovation stopped or finished); how many."""
    reason = _text(reason, "reason", MAX_REASON)
    passes = db.session.scalars(_of_source(source_kind, source_id).order_by(Pass.id)).all()
    for pass_ in passes:
        _revoke(pass_, actor, reason)
    return len(passes)


def extend_passes(source_kind, source_id, valid_until, *, actor) -> int:
    """Move the end of the live passes a ticket made (its window was extended); how many
    changed. The ticket's own window rules their length, not the pass settings."""
    if not isinstance(valid_until, datetime) or valid_until.tzinfo is None:
        raise _invalid(_l("Enter a date and time."), "valid_until", "required")
    passes = db.session.scalars(_of_source(source_kind, source_id).order_by(Pass.id)).all()
    changed = 0
    for pass_ in passes:
        if valid_until <= pass_.valid_from or pass_.valid_until == valid_until:
            continue
        before = pass_.valid_until
        pass_.valid_until = valid_until
        changed += 1
        audit.record(
            "pass.extend",
            pass_,
            actor=actor,
            before={"valid_until": before},
            after={"valid_until": valid_until},
        )
    db.session.flush()
    return changed


# --- The gate ------------------------------------------------------------------------------


def find_pass(text: str, actor) -> Pass | None:
    """The pass a typed or scanned text names, among those the actor may see: its code, or
    its number (any letter case)."""
    if NUMBER_RE.match(text):
        where = Pass.number == text.upper()
    elif CODE_RE.match(text):
        where = Pass.code == text
    else:
        return None
    return db.session.scalar(
        select(Pass).where(where, visible(Pass, actor)).order_by(Pass.id).limit(1)
    )


def check_pass(code_or_number, *, actor) -> tuple[Result, Pass | None]:
    """Check a pass at the gate and log the check (every time, whatever it finds). A goods
    pass is used up by its first valid check: a second finds it used."""
    if not actor.is_staff or actor.role not in GATE:
        raise NotAllowed(_l("Only the gate and the desk check passes."))
    text = str(code_or_number or "").strip()
    if not text:
        raise _invalid(
            _l("Type the pass's number or code, or scan its QR code."), "code", "required"
        )
    if "\x00" in text:
        raise _invalid(_l("This value is not valid."), "code")
    pass_ = find_pass(text[: MAX_TYPED + 1], actor) if len(text) <= MAX_TYPED else None
    now = clock.now()
    result = pass_.result_at(now) if pass_ is not None else Result.unknown
    if result == Result.valid and pass_.kind == Kind.goods:
        # Used up by this check: one guard wins when two check it at once.
        taken = db.session.execute(
            update(Pass)
            .where(Pass.id == pass_.id, Pass.status == Status.active.value)
            .values(status=Status.used.value, used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.refresh(pass_)
        if not taken:
            result = Result.used
    db.session.add(
        PassCheck(
            estate_id=pass_.estate_id if pass_ is not None else actor.estate_id,
            pass_id=pass_.id if pass_ is not None else None,
            code=text[:MAX_TYPED],
            result=result.value,
            checked_by_id=actor.id,
            at=now,
        )
    )
    db.session.flush()
    return result, pass_


# --- Lists ---------------------------------------------------------------------------------


def passes_for(actor, *, kind=None, status=None, day=None, unit_id=None, tz="Asia/Shanghai"):
    """A SELECT of the passes the actor may see, newest first, with filters; `day` (a date)
    keeps those whose window touches that day in the estate's time zone."""
    stmt = select(Pass).where(visible(Pass, actor)).order_by(Pass.id.desc())
    if kind:
        stmt = stmt.where(Pass.kind == kind)
    if status:
        stmt = stmt.where(Pass.status == status)
    if unit_id:
        stmt = stmt.where(Pass.unit_id == unit_id)
    if day is not None:
        start, end = day_span(day, tz)
        stmt = stmt.where(Pass.valid_from < end, Pass.valid_until >= start)
    return stmt


def day_span(day, tz: str) -> tuple[datetime, datetime]:
    """The start and end of a local day, as aware datetimes."""
    from datetime import time
    from zoneinfo import ZoneInfo

    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))
    return start, start + timedelta(days=1)


def awaiting_owner(actor):
    """A SELECT of the pending passes of the units a resident owns (their approvals)."""
    owned = select(Residency.unit_id).where(
        Residency.user_id == actor.id,
        Residency.relation == Relation.owner.value,
        current_residency_clause(),
    )
    return (
        select(Pass)
        .where(Pass.status == Status.pending.value, Pass.unit_id.in_(owned))
        .order_by(Pass.id)
    )


def checks_for(actor, *, day=None, tz="Asia/Shanghai", mine=False):
    """A SELECT of the gate's checks the actor may see (their estate's), newest first."""
    stmt = select(PassCheck).order_by(PassCheck.id.desc())
    if actor.is_company_wide:
        from portal.core.places import Estate

        stmt = stmt.where(
            PassCheck.estate_id.in_(
                select(Estate.id).where(Estate.company_id == actor.staff_role.company_id)
            )
        )
    else:
        stmt = stmt.where(PassCheck.estate_id == actor.estate_id)
    if mine:
        stmt = stmt.where(PassCheck.checked_by_id == actor.id)
    if day is not None:
        start, end = day_span(day, tz)
        stmt = stmt.where(PassCheck.at >= start, PassCheck.at < end)
    return stmt


def gate_home(actor) -> dict:
    """What the guard's home shows: today's checks at the estate by result, the guard's own
    count, the passes valid today, those awaiting approval and the latest checks."""
    tz = actor.estate.timezone if actor.estate is not None else "Asia/Shanghai"
    today = clock.local_today(tz)
    checks = checks_for(actor, day=today, tz=tz).order_by(None).subquery()
    by_result = dict(
        db.session.execute(select(checks.c.result, func.count()).group_by(checks.c.result)).all()
    )
    mine = db.session.scalar(
        select(func.count()).select_from(checks).where(checks.c.checked_by_id == actor.id)
    )
    start, end = day_span(today, tz)
    today_passes = (
        select(Pass.kind, func.count())
        .where(
            visible(Pass, actor),
            Pass.status.in_([Status.active.value, Status.used.value]),
            Pass.valid_from < end,
            Pass.valid_until >= start,
        )
        .group_by(Pass.kind)
    )
    passes_today = dict(db.session.execute(today_passes).all())
    latest = checks_for(actor, day=today, tz=tz).limit(10)
    return {
        "day": today,
        "checks": sum(by_result.values()),
        "by_result": {r.value: by_result.get(r.value, 0) for r in Result},
        "mine": mine or 0,
        "passes_today": {k.value: passes_today.get(k.value, 0) for k in Kind},
        "latest": check_rows(latest),
    }


def check_rows(stmt) -> list[dict]:
    """Checks as the log shows them (number, unit, result, who, when), in one statement."""
    from portal.core.people import User
    from portal.core.units import labels_for

    chosen = stmt.with_only_columns(PassCheck.id).subquery()
    rows = db.session.execute(
        select(PassCheck, Pass.number, Pass.unit_id, Pass.kind, User.name)
        .join(chosen, chosen.c.id == PassCheck.id)
        .outerjoin(Pass, Pass.id == PassCheck.pass_id)
        .join(User, User.id == PassCheck.checked_by_id)
        .order_by(PassCheck.id.desc())
    ).all()
    labels = labels_for({r.unit_id for r in rows if r.unit_id}) if rows else {}
    return [
        {
            "check": r.PassCheck,
            "number": r.number,
            "kind": r.kind,
            "unit": labels.get(r.unit_id),
            "by": r.name,
        }
        for r in rows
    ]
