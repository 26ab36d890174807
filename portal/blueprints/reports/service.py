"""The service report (contracts §6): repairs received, completed, on time and reworked.

Every figure comes from one aggregate query (GROUP BY category with conditional counts,
DESIGN §6); Python only adds up the per-category counts into totals and divides them into
rates. The number of queries does not depend on the number of repairs.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Float, and_, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from portal.blueprints.repairs.models import Category, Repair
from portal.core.access import visible
from portal.core.people import User
from portal.core.places import Estate
from portal.core.workflow import TicketEvent
from portal.extensions import db

from .periods import period_bounds

FIGURES = (
    "received",
    "completed",
    "handling_rate",
    "completed_on_time",
    "timeliness_rate",
    "reopened",
    "rework_rate",
)
_COUNTS = ("received", "completed", "completed_on_time", "reopened")


class seconds_between(FunctionElement):
    """`end - start` in seconds, in SQL, alike on PostgreSQL and SQLite (to the millisecond)."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between)
def _seconds_between_pg(element, compiler, **kw):
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end}) - ({start}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"


def rate(part: int, whole: int) -> float | None:
    """part / whole as a number 0..1 with four decimals (half up), or None for 0 / 0."""
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _with_rates(counts: dict) -> dict:
    return {
        "received": counts["received"],
        "completed": counts["completed"],
        "handling_rate": rate(counts["completed"], counts["received"]),
        "completed_on_time": counts["completed_on_time"],
        "timeliness_rate": rate(counts["completed_on_time"], counts["completed"]),
        "reopened": counts["reopened"],
        "rework_rate": rate(counts["reopened"], counts["completed"]),
    }


def repairs_figures(actor, estate: Estate, date_from: date, date_to: date) -> dict:
    """The repairs part of the service report, per category and in total.

    Which repairs: those of `estate` (one the actor acts for, see core/access) CREATED from
    00:00 of `date_from` to the end of `date_to` in the estate's time zone, that `actor`
    may see.

    - received: how many there are (whatever their state, cancelled ones included).
    - completed: those with at least one `complete` event in the ticket history, i.e. that
      reached "completed" at least once, even if reopened since (a reopen clears
      `completed_at` and changes the status, the history keeps the event).
    - completed_on_time: completed ones whose FIRST `complete` event is at or before the
      due time in force at that moment. The only transition that moves `due_at` is reopen
      (to reopen time + the category's limit), and a reopen always comes after a
      completion, so:
        * never reopened (no `reopen` event): first complete `at` <= `repairs.due_at`;
        * reopened: the due time of the first completion is no longer stored, so it is
          rebuilt from the limit the last reopen applied: the first completion is on time
          when (first complete - created_at) <= round(due_at - last reopen `at`), in
          seconds (limits are whole hours; rounding absorbs the microseconds between the
          two clock readings of one reopen). This assumes the estate's limit for the
          category did not change between creation and the last reopen.
      A repair without `due_at` is never on time.
    - reopened: completed ones with `reopened_count > 0`, each counted once however often
      it was reopened.
    - handling_rate = completed / received, timeliness_rate = completed_on_time /
      completed, rework_rate = reopened / completed: numbers 0..1 rounded half up to four
      decimals, None when the denominator is 0.

    `by_category` lists every Category in enum order, zero rows included, with the label
    in the request's language. Totals are the sums of the per-category counts.
    Queries: one aggregate query.
    """
    counts = _grouped_counts(actor, estate, date_from, date_to, Repair.category)
    zero = dict.fromkeys(_COUNTS, 0)
    totals = {name: sum(c[name] for c in counts.values()) for name in _COUNTS}
    return {
        "totals": _with_rates(totals),
        "by_category": [
            {
                "category": category.value,
                "label": str(category.label),
                **_with_rates(counts.get(category.value, zero)),
            }
            for category in Category
        ],
    }


def technician_figures(actor, estate: Estate, date_from: date, date_to: date) -> list[dict]:
    """The same figures per technician (the last one a repair was assigned to), from the
    same aggregate query grouped by assignee; repairs never assigned are left out."""
    counts = _grouped_counts(actor, estate, date_from, date_to, Repair.assignee_id)
    counts.pop(None, None)
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(counts))).all())
    return sorted(
        (
            {"technician_id": tech, "name": names.get(tech, ""), **_with_rates(c)}
            for tech, c in counts.items()
        ),
        key=lambda row: row["name"],
    )


def _grouped_counts(actor, estate, date_from, date_to, group) -> dict:
    """received / completed / on time / reopened per value of `group`, in one query."""
    start, end = period_bounds(date_from, date_to, estate.timezone)
    scope = [
        visible(Repair, actor),
        Repair.estate_id == estate.id,
        Repair.created_at >= start,
        Repair.created_at < end,
    ]

    events = (
        select(
            TicketEvent.ticket_id.label("repair_id"),
            func.min(case((TicketEvent.action == "complete", TicketEvent.at))).label("first_done"),
            func.max(case((TicketEvent.action == "reopen", TicketEvent.at))).label("last_reopen"),
        )
        .join(Repair, Repair.id == TicketEvent.ticket_id)
        .where(
            TicketEvent.kind == "repair",
            TicketEvent.action.in_(("complete", "reopen")),
            *scope,
        )
        .group_by(TicketEvent.ticket_id)
        .subquery("ev")
    )
    done = events.c.first_done.is_not(None)
    on_time = and_(
        done,
        or_(
            and_(events.c.last_reopen.is_(None), events.c.first_done <= Repair.due_at),
            and_(
                events.c.last_reopen.is_not(None),
                seconds_between(events.c.first_done, Repair.created_at)
                <= func.round(seconds_between(Repair.due_at, events.c.last_reopen)),
            ),
        ),
    )
    rows = db.session.execute(
        select(
            group.label("key"),
            func.count(Repair.id).label("received"),
            func.count(events.c.first_done).label("completed"),
            func.count(case((on_time, 1))).label("completed_on_time"),
            func.count(case((and_(done, Repair.reopened_count > 0), 1))).label("reopened"),
        )
        .select_from(Repair)
        .outerjoin(events, events.c.repair_id == Repair.id)
        .where(*scope)
        .group_by(group)
    ).all()
    return {row.key: {name: int(getattr(row, name)) for name in _COUNTS} for row in rows}


_COMPLAINT_COUNTS = ("received", "closed", "replied_on_time", "return_visits")


def complaints_figures(actor, estate: Estate, date_from: date, date_to: date) -> dict:
    """The complaints part of the service report, per category and in total.

    Complaints (not inquiries or suggestions) of `estate` registered from 00:00 of
    `date_from` to the end of `date_to` in its time zone, that `actor` may see. received:
    how many; closed: how many are closed now; replied_on_time: first reply (an answer, a
    progress reply or the resolution) within 48 hours of registration; return_visits: how
    many have had a return visit; handling_rate = closed / received. One GROUP BY query.
    """
    from portal.blueprints.complaints.models import Category as ComplaintCategory
    from portal.blueprints.complaints.models import Complaint

    counts = complaint_counts(actor, estate, date_from, date_to, Complaint.category)
    zero = dict.fromkeys(_COMPLAINT_COUNTS, 0)
    totals = {n: sum(c[n] for c in counts.values()) for n in _COMPLAINT_COUNTS}
    return {
        "totals": complaint_rates(totals),
        "by_category": [
            {
                "category": cat.value,
                "label": str(cat.label),
                **complaint_rates(counts.get(cat.value, zero)),
            }
            for cat in ComplaintCategory
        ],
    }


def complaint_rates(counts: dict) -> dict:
    return {**counts, "handling_rate": rate(counts["closed"], counts["received"])}


def complaint_counts(actor, estate, date_from, date_to, group) -> dict:
    """received / closed / replied on time / return visits per value of `group` (one query).

    `group` is a column or SQL expression of Complaint (category, department, local_month).
    """
    from portal.blueprints.complaints.models import Complaint, Kind, State
    from portal.blueprints.complaints.workflow import REPLY_WITHIN

    start, end = period_bounds(date_from, date_to, estate.timezone)
    scope = [
        visible(Complaint, actor),
        Complaint.estate_id == estate.id,
        Complaint.kind == Kind.complaint,
        Complaint.created_at >= start,
        Complaint.created_at < end,
    ]
    on_time = and_(
        Complaint.first_reply_at.is_not(None),
        seconds_between(Complaint.first_reply_at, Complaint.created_at)
        <= REPLY_WITHIN.total_seconds(),
    )
    rows = db.session.execute(
        select(
            group.label("key"),
            func.count(Complaint.id).label("received"),
            func.count(case((Complaint.status == State.closed, 1))).label("closed"),
            func.count(case((on_time, 1))).label("replied_on_time"),
            func.count(Complaint.visit_result).label("return_visits"),  # set once visited
        )
        .where(*scope)
        .group_by(group)
        .order_by(group)
    ).all()
    return {r.key: {n: int(getattr(r, n)) for n in _COMPLAINT_COUNTS} for r in rows}
