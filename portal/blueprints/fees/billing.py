"""Billing runs: bill every billable unit for one month, once (issue: billing runs).

Units whose occupancy did not change after the month began are billed by one
INSERT … SELECT per item and category (the set-based work the database does best); the
few whose category changed in or after the month are billed day by day in Python from
their occupancy history. Paid services recorded by repairs become bills in the same run.
The unique (unit, source_key) pair makes a second run of the same month bill nothing.
"""

import calendar
import re
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, insert, literal, select

from portal.core import clock, figures, settings
from portal.core.errors import Conflict, ServiceError
from portal.core.places import Occupancy, Unit, UnitOccupancy
from portal.core.types import UTCDateTime
from portal.extensions import db

from .ledger import allocate_many, issue_bill, unspent_fen
from .models import Bill, BillingRun, FeeItem, Payment
from .pricing import month_charge_sql, price_unit_month
from .rules import (
    DUE_DAYS,
    NOT_BILLED,
    PAID_SERVICE,
    VACANT_PAY_PERCENT,
    Rates,
    item_by_code,
    vacant_occupancies,
)

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(raw: str) -> tuple[date, date]:
    """'2026-12' → (2026-12-01, 2026-12-31), or a clear 400."""
    match = PERIOD_RE.match((raw or "").strip())
    if not match:
        raise ServiceError(
            _l("Give the month as YYYY-MM, e.g. 2026-12."), fields={"period": "format"}
        )
    year, month = int(match.group(1)), int(match.group(2))
    if not 2000 <= year <= 2100:
        raise ServiceError(
            _l("Give the month as YYYY-MM, e.g. 2026-12."), fields={"period": "range"}
        )
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def start_run(estate_id: int, period: str, *, actor) -> BillingRun:
    """Create the run and its job; refused (409) while another run of the estate is going."""
    from portal.jobs import Job, JobStatus, start_job

    parse_period(period)
    busy = db.session.scalar(
        select(BillingRun.id)
        .join(Job, Job.id == BillingRun.job_id)
        .where(
            BillingRun.estate_id == estate_id,
            Job.status.in_([JobStatus.queued, JobStatus.running]),
        )
    )
    if busy:
        raise Conflict(_l("A billing run for this estate is already under way."))
    run = BillingRun(estate_id=estate_id, period=period.strip(), created_by_id=actor.id)
    db.session.add(run)
    db.session.flush()
    job = start_job("billing_run", actor=actor, estate_id=estate_id, run_id=run.id)
    run.job_id = job.id
    return run


def recent_runs(estate_id: int, limit: int = 24) -> list[BillingRun]:
    """The estate's latest billing runs, newest first."""
    stmt = select(BillingRun).where(BillingRun.estate_id == estate_id)
    return list(db.session.scalars(stmt.order_by(BillingRun.id.desc()).limit(limit)))


def item_names(estate_id: int) -> dict[str, str]:
    """code → name of the estate's fee items (a run's summary names items by code)."""
    stmt = select(FeeItem.code, FeeItem.name).where(FeeItem.estate_id == estate_id)
    return dict(db.session.execute(stmt).all())


def run_billing_job(job) -> None:
    """The job function (jobs.JOB_FUNCTIONS['billing_run'])."""
    from portal.jobs import set_progress

    run = db.session.get(BillingRun, job.params["run_id"])
    bill_month(run, progress=lambda done, total: set_progress(job, done, total))
    db.session.commit()


def bill_month(run: BillingRun, progress=None) -> dict:
    """Bill the run's month for its estate; returns (and stores) the summary."""
    start, end = parse_period(run.period)
    estate_id = run.estate_id
    due_on = start + timedelta(days=settings.get(DUE_DAYS.key, estate_id))
    items = db.session.scalars(
        select(FeeItem)
        .where(FeeItem.estate_id == estate_id, FeeItem.active.is_(True))
        .order_by(FeeItem.id)
    ).all()
    recurring = [i for i in items if i.basis_enum.recurring]
    rates = Rates([i.id for i in recurring], start)
    pay_percent = settings.get(VACANT_PAY_PERCENT.key, estate_id)
    vacant = vacant_occupancies(estate_id)
    billable = [o.value for o in Occupancy if o not in NOT_BILLED]
    now = clock.now()
    units_by_category = db.session.execute(
        select(Unit.kind, Unit.occupancy, func.count(Unit.id))
        .where(Unit.estate_id == estate_id)
        .group_by(Unit.kind, Unit.occupancy)
    ).all()
    total_steps = 2 * len(recurring) + 1
    no_rate = []
    for done, item in enumerate(recurring):
        priced = {}
        for occupancy in billable:
            rate = rates.rate(item.id, occupancy)
            if rate is None:
                count = sum(
                    n
                    for kind, category, n in units_by_category
                    if category == occupancy and (not item.unit_kind or kind == item.unit_kind)
                )
                if count:
                    no_rate.append({"item": item.code, "occupancy": occupancy, "units": count})
            elif rate > 0:
                priced[occupancy] = rate
        if priced:
            _insert_month(run, item, priced, pay_percent, vacant, start, end, due_on, now)
        if progress:
            progress(done + 1, total_steps)
    changed = 0
    for n, item in enumerate(recurring):
        changed += _bill_changed_units(run, item, rates, pay_percent, vacant, start, end, due_on)
        if progress:
            progress(len(recurring) + n + 1, total_steps)
    services = _bill_paid_services(run, due_on)
    _allocate_credit(estate_id, run.id)
    summary = _summary(run, start, end, items, no_rate, changed, services)
    run.summary = summary
    run.finished_at = clock.now()
    db.session.flush()
    return summary


def _source_key(period: str, item: FeeItem) -> str:
    return f"run:{period}:{item.code}"


def _month_units(estate_id, item, start):
    """Units an item bills for the month whose category held the whole month."""
    conditions = [Unit.estate_id == estate_id, Unit.occupancy_since <= start, Unit.area_m2 > 0]
    if item.unit_kind:
        conditions.append(Unit.kind == item.unit_kind)
    return conditions


def _insert_month(run, item, priced, pay_percent, vacant, start, end, due_on, now):
    """One INSERT … SELECT bills the item for every unit whose category held all month:
    the rate per category and the vacant share are CASE expressions over the category."""
    figures.changed(figures.FEES, run.estate_id)
    key = _source_key(run.period, item)
    gross, amount, rule, note = month_charge_sql(item, priced, pay_percent, vacant)
    already = select(Bill.id).where(Bill.unit_id == Unit.id, Bill.source_key == key).exists()
    chosen = select(
        Unit.estate_id,
        Unit.id,
        literal(item.id),
        Unit.occupancy,
        literal(start),
        literal(end),
        literal(due_on),
        gross,
        gross - amount,
        amount,
        rule,
        note,
        literal("run"),
        literal(key),
        literal(run.id),
        literal(now, UTCDateTime),
        literal(run.created_by_id),
    ).where(
        *_month_units(run.estate_id, item, start),
        Unit.occupancy.in_(list(priced)),
        ~already,
        gross > 0,
    )
    db.session.execute(
        insert(Bill).from_select(
            [
                "estate_id",
                "unit_id",
                "fee_item_id",
                "occupancy",
                "period_start",
                "period_end",
                "due_on",
                "gross_fen",
                "discount_fen",
                "amount_fen",
                "discount_rule",
                "discount_note",
                "source",
                "source_key",
                "run_id",
                "created_at",
                "created_by_id",
            ],
            chosen,
        )
    )


def _bill_changed_units(run, item, rates, pay_percent, vacant, start, end, due_on) -> int:
    conditions = [Unit.estate_id == run.estate_id, Unit.occupancy_since > start]
    if item.unit_kind:
        conditions.append(Unit.kind == item.unit_kind)
    key = _source_key(run.period, item)
    units = db.session.scalars(
        select(Unit)
        .where(
            *conditions,
            ~select(Bill.id).where(Bill.unit_id == Unit.id, Bill.source_key == key).exists(),
        )
        .order_by(Unit.id)
    ).all()
    if not units:
        return 0
    history = occupancy_history([u.id for u in units], end)
    billed = 0
    for unit in units:
        charge = price_unit_month(
            item, unit, history.get(unit.id, []), rates, pay_percent, vacant, start, end
        )
        if charge is None:
            continue
        issue_bill(
            unit,
            item,
            **charge,
            period_start=start,
            period_end=end,
            due_on=due_on,
            source="run",
            source_key=key,
            run_id=run.id,
            allocate_now=False,
        )
        billed += 1
    return billed


def occupancy_history(unit_ids, end: date) -> dict[int, list]:
    """unit id → [(occupancy, since), …] up to `end`, oldest first (a correction on the
    same day replaces the entry it corrects)."""
    history: dict[int, list] = {}
    for unit_id, occupancy, since in db.session.execute(
        select(UnitOccupancy.unit_id, UnitOccupancy.occupancy, UnitOccupancy.effective_on)
        .where(UnitOccupancy.unit_id.in_(unit_ids), UnitOccupancy.effective_on <= end)
        .order_by(UnitOccupancy.unit_id, UnitOccupancy.effective_on, UnitOccupancy.id)
    ):
        entries = history.setdefault(unit_id, [])
        if entries and entries[-1][1] == since:
            entries[-1] = (occupancy, since)
        else:
            entries.append((occupancy, since))
    return history


def _bill_paid_services(run, due_on) -> dict:
    """Charges technicians recorded on completed repairs become bills (once each)."""
    from portal.blueprints.repairs.models import Repair

    item = item_by_code(run.estate_id, PAID_SERVICE)
    if item is None:
        return {"bills": 0, "amount_fen": 0, "missing_item": True}
    repairs = db.session.execute(
        select(Repair, Unit)
        .join(Unit, Unit.id == Repair.unit_id)
        .where(
            Repair.estate_id == run.estate_id,
            Repair.charge_fen > 0,
            Repair.status.in_(["completed", "closed"]),
            ~select(Bill.id)
            .where(
                Bill.unit_id == Repair.unit_id,
                Bill.source_key == literal("repair:").concat(cast(Repair.id, String)),
            )
            .exists(),
        )
        .order_by(Repair.id)
    ).all()
    total = 0
    for repair, unit in repairs:
        bill = issue_bill(
            unit,
            item,
            amount_fen=repair.charge_fen,
            due_on=due_on,
            source="repair",
            source_key=f"repair:{repair.id}",
            note=f"{repair.number} {repair.description[:80]}",
            run_id=run.id,
            allocate_now=False,
        )
        if bill is not None:
            total += bill.amount_fen
    return {"bills": len(repairs), "amount_fen": total, "missing_item": False}


def _allocate_credit(estate_id: int, run_id: int) -> None:
    """Units that had credit pay their new bills from it: the payments with something
    left unallocated name them (a reversed payment may be named too; allocation skips it)."""
    with_credit = db.session.scalars(
        select(Payment.unit_id)
        .where(Payment.estate_id == estate_id, Payment.amount_fen > 0, unspent_fen() > 0)
        .distinct()
    ).all()
    allocate_many(with_credit)


def _summary(run, start, end, items, no_rate, changed, services) -> dict:
    names = {i.id: (i.code, i.name) for i in items}
    rows = db.session.execute(
        select(
            Bill.fee_item_id,
            func.count(Bill.id),
            func.sum(Bill.amount_fen),
            func.sum(Bill.discount_fen),
            func.count(Bill.discount_rule),
        )
        .where(Bill.run_id == run.id)
        .group_by(Bill.fee_item_id)
        .order_by(Bill.fee_item_id)
    ).all()
    by_item = [
        {
            "item": names.get(item_id, ("?", "?"))[0],
            "name": names.get(item_id, ("?", "?"))[1],
            "bills": count,
            "amount_fen": int(amount or 0),
            "discount_fen": int(discount or 0),
            "discounted_bills": discounted,
        }
        for item_id, count, amount, discount, discounted in rows
    ]
    not_billed = db.session.execute(
        select(Unit.occupancy, func.count(Unit.id))
        .where(Unit.estate_id == run.estate_id, Unit.occupancy.in_([o.value for o in NOT_BILLED]))
        .group_by(Unit.occupancy)
    ).all()
    earlier = db.session.scalar(
        select(func.count(Bill.id)).where(
            Bill.estate_id == run.estate_id,
            Bill.source_key.in_([_source_key(run.period, i) for i in items]),
            Bill.run_id != run.id,
        )
    )
    return {
        "period": run.period,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "bills": sum(r["bills"] for r in by_item),
        "amount_fen": sum(r["amount_fen"] for r in by_item),
        "discount_fen": sum(r["discount_fen"] for r in by_item),
        "by_item": by_item,
        "already_billed": int(earlier or 0),
        "not_billed": {occupancy: count for occupancy, count in not_billed},
        "no_rate": no_rate,
        "prorated_units": changed,
        "paid_services": services,
    }
