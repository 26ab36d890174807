"""What each role's home shows: the work that waits for them, each figure from one statement
whatever the estate's size.

The desk sees the day's queue, a technician their orders by due time, a supervisor what is
overdue and what waits for approval, a manager the month. The return visits waiting are
counted from the very queue the return-visit page lists (core/workflow.visit_queue), so the
tile and the page always agree.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from portal.blueprints.complaints.models import CATEGORY_LABELS, Complaint
from portal.blueprints.complaints.models import OPEN_STATES as COMPLAINT_OPEN
from portal.blueprints.complaints.models import State as ComplaintState
from portal.blueprints.custody import services as custody
from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Allocation, Bill, Payment
from portal.blueprints.repairs.models import OPEN_STATES as REPAIR_OPEN
from portal.blueprints.repairs.models import Repair
from portal.blueprints.repairs.models import State as RepairState
from portal.core import clock, workflow
from portal.core.access import visible
from portal.core.people import Role
from portal.core.units import labels_for
from portal.extensions import db

DESK_ROLES = frozenset({Role.frontdesk, Role.zone_butler})
ORDERS_SHOWN = 10
APPROVALS_SHOWN = 5
DEFAULT_TZ = "Asia/Shanghai"


def home_kind(role) -> str:
    """Which home a role gets: desk, orders (technician), oversight (supervisor) or month."""
    if role in DESK_ROLES:
        return "desk"
    if role == Role.technician:
        return "orders"
    if role == Role.supervisor:
        return "oversight"
    if role == Role.guard:
        return "gate"
    return "month"


def day_bounds(actor) -> tuple[datetime, datetime, date]:
    """Now, the end of today in the actor's estate (as UTC) and that day."""
    tz = actor.estate.timezone if actor.estate is not None else DEFAULT_TZ
    today = clock.local_today(tz)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=ZoneInfo(tz))
    return clock.now(), end, today


def _count(model, actor, *where):
    return select(func.count(model.id)).where(visible(model, actor), *where).scalar_subquery()


def visits_waiting(actor, *, due_by=None):
    """SQL: how many return visits wait — the rows the return-visit page lists."""
    queue = workflow.visit_queue(actor, due_by=due_by).order_by(None).subquery()
    return select(func.count()).select_from(queue).scalar_subquery()


def _overdue(model, open_states, now):
    return (model.status.in_(list(open_states)), model.due_at < now)


def desk_day(actor) -> dict:
    """The desk's day: repairs to dispatch (new, reopened), complaint replies due by tonight,
    return visits waiting (and due by tonight), tickets overdue — one statement."""
    now, end, _today = day_bounds(actor)
    row = db.session.execute(
        select(
            _count(Repair, actor, Repair.status == RepairState.submitted).label("to_dispatch"),
            _count(Repair, actor, Repair.status == RepairState.reopened).label("reopened"),
            _count(
                Complaint,
                actor,
                Complaint.status.in_(list(COMPLAINT_OPEN)),
                Complaint.due_at < end,
            ).label("replies_due"),
            visits_waiting(actor).label("visits"),
            visits_waiting(actor, due_by=end).label("visits_today"),
            _count(Repair, actor, *_overdue(Repair, REPAIR_OPEN, now)).label("repairs_overdue"),
            _count(Complaint, actor, *_overdue(Complaint, COMPLAINT_OPEN, now)).label(
                "complaints_overdue"
            ),
            custody.overdue_keys_count_sql(actor).label("keys_overdue"),
        )
    ).one()
    return row._asdict()


def my_orders(actor) -> dict:
    """A technician's open orders, soonest due first (the first ORDERS_SHOWN), with how many
    there are and how many are overdue, and where each is — two statements."""
    now = clock.now()
    rows = db.session.execute(
        select(
            Repair,
            func.count().over().label("total"),
            func.sum(case((Repair.due_at < now, 1), else_=0)).over().label("overdue"),
        )
        .where(
            visible(Repair, actor),
            Repair.assignee_id == actor.id,
            Repair.status.in_([RepairState.assigned, RepairState.in_progress]),
        )
        .order_by(Repair.due_at.asc().nulls_last(), Repair.id)
        .limit(ORDERS_SHOWN)
    ).all()
    orders = [repair for repair, _total, _overdue in rows]
    return {
        "orders": orders,
        "total": rows[0].total if rows else 0,
        "overdue": int(rows[0].overdue or 0) if rows else 0,
        "labels": labels_for([r.unit_id for r in orders if r.unit_id]),
        "now": now,
    }


def oversight(actor) -> dict:
    """A supervisor's desk: what is overdue, what waits for their approval or a dispatch,
    the return visits waiting (one statement), and the plans to approve (another)."""
    now = clock.now()
    awaiting = Complaint.status == ComplaintState.plan_proposed
    figures = db.session.execute(
        select(
            _count(Repair, actor, *_overdue(Repair, REPAIR_OPEN, now)).label("repairs_overdue"),
            _count(Complaint, actor, *_overdue(Complaint, COMPLAINT_OPEN, now)).label(
                "complaints_overdue"
            ),
            _count(Complaint, actor, awaiting).label("approvals"),
            _count(Repair, actor, Repair.status == RepairState.submitted).label("to_dispatch"),
            _count(Repair, actor, Repair.status == RepairState.reopened).label("reopened"),
            visits_waiting(actor).label("visits"),
        )
    ).one()
    plans = db.session.scalars(
        select(Complaint)
        .where(visible(Complaint, actor), awaiting)
        .order_by(Complaint.due_at.asc().nulls_last(), Complaint.id)
        .limit(APPROVALS_SHOWN)
    ).all()
    listed = [
        {
            "id": c.id,
            "number": c.number,
            "what": CATEGORY_LABELS.get(c.category, c.category),
            "plan": c.plan or "",
        }
        for c in plans
    ]
    return {**figures._asdict(), "plans": listed}


def month_figures(actor) -> dict:
    """The month so far in the actor's estates: repairs received and completed, their mean
    rating, complaints received, fees received, what is overdue now — one statement."""
    now, _end, today = day_bounds(actor)
    tz = actor.estate.timezone if actor.estate is not None else DEFAULT_TZ
    first = today.replace(day=1)
    since = datetime.combine(first, time.min, tzinfo=ZoneInfo(tz))
    in_month = (Repair.completed_at >= since, Repair.completed_at < now + timedelta(seconds=1))
    row = db.session.execute(
        select(
            _count(Repair, actor, Repair.created_at >= since).label("repairs_received"),
            _count(Repair, actor, *in_month).label("repairs_completed"),
            select(func.avg(Repair.rating))
            .where(visible(Repair, actor), *in_month, Repair.rating.is_not(None))
            .scalar_subquery()
            .label("rating"),
            _count(Complaint, actor, Complaint.created_at >= since).label("complaints_received"),
            select(func.coalesce(func.sum(Payment.amount_fen), 0))
            .where(
                visible(Payment, actor),
                Payment.paid_on >= first,
                Payment.paid_on <= today,
                # Fees, not money held: a deposit paid in is not received (what its
                # deductions keep is, on the day of its refund).
                ~select(Allocation.id)
                .join(Bill, Bill.id == Allocation.bill_id)
                .where(Allocation.payment_id == Payment.id, ledger.is_deposit(Bill))
                .exists(),
            )
            .scalar_subquery()
            .label("received_fen"),
            _count(Repair, actor, *_overdue(Repair, REPAIR_OPEN, now)).label("repairs_overdue"),
            _count(Complaint, actor, *_overdue(Complaint, COMPLAINT_OPEN, now)).label(
                "complaints_overdue"
            ),
            visits_waiting(actor).label("visits"),
        )
    ).one()
    figures = row._asdict()
    figures["rating"] = float(figures["rating"]) if figures["rating"] is not None else None
    figures["received_fen"] = int(figures["received_fen"] or 0)
    figures["period"] = {"from": first.isoformat(), "to": today.isoformat()}
    return figures
