"""The gate: a check of a typed or scanned code or number (logged every time), the checks'
log, the pass lists, and what the guard's home shows."""

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.core import clock
from portal.core.access import GATE, acting_estate_id, visible, zone_ids_of
from portal.core.errors import NotAllowed
from portal.core.people import Relation, Residency, current_residency_clause
from portal.extensions import db

from .models import Kind, Pass, PassCheck, Result, Status
from .rules import CODE_RE, MAX_TYPED, NUMBER_RE, invalid

# --- Checks ------------------------------------------------------------------------------


def find_pass(text: str, actor) -> Pass | None:
    """The pass a typed or scanned text names, among those the actor may see: its code, or
    its number (any letter case)."""
    if NUMBER_RE.match(text):
        where = Pass.number == text.upper()
    elif CODE_RE.match(text):
        where = Pass.code == text
    else:
        return None
    # Numbers are unique per estate: a company-wide checker checks for the estate they act
    # for, never another estate's pass of the same number.
    return db.session.scalar(
        select(Pass)
        .where(where, visible(Pass, actor), Pass.estate_id == acting_estate_id(actor))
        .order_by(Pass.id)
        .limit(1)
    )


def check_pass(code_or_number, *, actor) -> tuple[Result, Pass | None]:
    """Check a pass at the gate and log the check (every time, whatever it finds). A goods
    pass is used up by its first valid check: a second finds it used."""
    if not actor.is_staff or actor.role not in GATE:
        raise NotAllowed(_l("Only the gate and the desk check passes."))
    text = str(code_or_number or "").strip()
    if not text:
        raise invalid(
            _l("Type the pass's number or code, or scan its QR code."), "code", "required"
        )
    if "\x00" in text:
        raise invalid(_l("This value is not valid."), "code")
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
            estate_id=pass_.estate_id if pass_ is not None else acting_estate_id(actor),
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


FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


def day_span(day, tz: str) -> tuple[datetime, datetime]:
    """The start and end of a local day, as aware datetimes."""
    from datetime import time
    from zoneinfo import ZoneInfo

    if not FIRST_DAY <= day <= LAST_DAY:
        raise invalid(_l("Choose a day between 1900 and 9998."), "day")
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
    if zone_ids_of(actor) is not None:
        # A zone butler: the checks of the passes of their zones, and their own checks.
        stmt = stmt.where(
            PassCheck.pass_id.in_(select(Pass.id).where(visible(Pass, actor)))
            | (PassCheck.pass_id.is_(None) & (PassCheck.checked_by_id == actor.id))
        )
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
