"""The daily cash report (日结): one estate's takings of a day per cashier and method, and
beside them the money paid out: deposits refunded (退押金), per cashier and method."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.blueprints.fees.models import METHOD_LABELS, DepositRefund, Method, Payment
from portal.core import clock
from portal.core.people import User
from portal.core.places import Building, Estate, Unit
from portal.extensions import db
from portal.jobs import Job, set_progress

from .printouts import print_to_result, printouts, start_printout

RECEIPTS_SHOWN = 500  # on the page; the printed report lists every receipt


def _of_the_day(estate_id: int, day: date):
    """Counter, API and online payments of the day (imported history is not takings, nor
    are deductions kept from a deposit: no money changed hands)."""
    return (
        Payment.estate_id == estate_id,
        Payment.paid_on == day,
        Payment.source != "import",
        Payment.method != Method.deposit.value,
    )


def payment_count(estate_id: int, day: date) -> int:
    """How many payments (receipts and reversals) the day's report lists."""
    return db.session.scalar(select(func.count(Payment.id)).where(*_of_the_day(estate_id, day)))


def cash_figures(estate_id: int, day: date, *, receipts: int | None = RECEIPTS_SHOWN) -> dict:
    """Per cashier and method: receipts and amounts of the day (reversals subtract), and
    the day's receipts (the first `receipts`, None: all); beside them the money paid out
    (deposits refunded) per cashier and method, and the refunds. Five queries whatever the
    number of payments and refunds."""
    rows = db.session.execute(
        select(
            Payment.cashier_id,
            Payment.method,
            func.count(Payment.id),
            func.sum(Payment.amount_fen),
            func.sum(func.abs(Payment.amount_fen) - Payment.amount_fen) / 2,
        )
        .where(*_of_the_day(estate_id, day))
        .group_by(Payment.cashier_id, Payment.method)
        .order_by(Payment.cashier_id, Payment.method)
    ).all()
    out_rows = db.session.execute(
        select(
            DepositRefund.cashier_id,
            DepositRefund.method,
            func.count(DepositRefund.id),
            func.sum(DepositRefund.refunded_fen),
        )
        .where(DepositRefund.estate_id == estate_id, DepositRefund.refunded_on == day)
        .group_by(DepositRefund.cashier_id, DepositRefund.method)
        .order_by(DepositRefund.cashier_id, DepositRefund.method)
    ).all()
    ids = {r[0] for r in rows if r[0]} | {r[0] for r in out_rows if r[0]}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    by_cashier: dict = {}
    for cashier_id, method, count, total, reversed_fen in rows:
        entry = by_cashier.setdefault(
            cashier_id,
            {"name": names.get(cashier_id) or _("Online payments"), "methods": [], "total": 0},
        )
        entry["methods"].append(
            {
                "method": METHOD_LABELS[Method(method)],
                "count": count,
                "total": int(total),
                "reversed": int(reversed_fen or 0),
            }
        )
        entry["total"] += int(total)
    payments = db.session.scalars(
        select(Payment)
        .where(*_of_the_day(estate_id, day))
        .options(joinedload(Payment.unit).joinedload(Unit.building).joinedload(Building.zone))
        .order_by(Payment.id)
        .limit(receipts)
    ).all()
    paid_out: dict = {}
    for cashier_id, method, count, total in out_rows:
        entry = paid_out.setdefault(
            cashier_id, {"name": names.get(cashier_id) or "", "methods": [], "total": 0}
        )
        entry["methods"].append(
            {"method": METHOD_LABELS[Method(method)], "count": count, "total": int(total)}
        )
        entry["total"] += int(total)
    refunds = db.session.scalars(
        select(DepositRefund)
        .where(DepositRefund.estate_id == estate_id, DepositRefund.refunded_on == day)
        .options(joinedload(DepositRefund.unit).joinedload(Unit.building).joinedload(Building.zone))
        .order_by(DepositRefund.id)
        .limit(receipts)
    ).all()
    total_in = sum(c["total"] for c in by_cashier.values())
    total_out = sum(c["total"] for c in paid_out.values())
    return {
        "cashiers": list(by_cashier.values()),
        "total": total_in,
        "count": sum(r[2] for r in rows),
        "payments": payments,
        "names": names,
        "refund_cashiers": list(paid_out.values()),
        "refunds_total": total_out,
        "refunds": refunds,
        "net_total": total_in - total_out,
    }


def cash_pdf_jobs(actor, estate_id: int, day: date) -> list[Job]:
    """The actor's latest printouts of this estate's day (as jobs), newest first."""
    return printouts(actor, "cash_report", estate_id, day=day.isoformat())


def start_cash_pdf(actor, estate_id: int, day: date) -> Job:
    """Print a busy day's report as a job (one under way is reused)."""
    return start_printout(actor, "cash_report", estate_id, day=day.isoformat())


def print_cash_report(job: Job) -> None:
    """The job: the day's cash report as a PDF with every receipt, in its printer's language."""
    estate = db.session.get(Estate, job.estate_id)
    day = date.fromisoformat(job.params["day"])
    figures = cash_figures(estate.id, day, receipts=None)
    set_progress(job, 1, 2)
    print_to_result(
        job,
        "reports/cash.html",
        f"cash-{day.isoformat()}.pdf",
        estate=estate,
        day=day,
        printed_at=clock.now(),
        **figures,
    )
