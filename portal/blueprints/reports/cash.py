"""The daily cash report (日结): one estate's takings of a day per cashier and method."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.blueprints.fees.models import METHOD_LABELS, Method, Payment
from portal.core import clock
from portal.core.people import User
from portal.core.places import Building, Estate, Unit
from portal.extensions import db
from portal.jobs import Job, set_progress

from .printouts import print_to_result, printouts, start_printout

RECEIPTS_SHOWN = 500  # on the page; the printed report lists every receipt


def _of_the_day(estate_id: int, day: date):
    """Counter, API and online payments of the day (imported history is not takings)."""
    return (Payment.estate_id == estate_id, Payment.paid_on == day, Payment.source != "import")


def payment_count(estate_id: int, day: date) -> int:
    """How many payments (receipts and reversals) the day's report lists."""
    return db.session.scalar(select(func.count(Payment.id)).where(*_of_the_day(estate_id, day)))


def cash_figures(estate_id: int, day: date, *, receipts: int | None = RECEIPTS_SHOWN) -> dict:
    """Per cashier and method: receipts and amounts of the day (reversals subtract), and
    the day's receipts (the first `receipts`, None: all). Three queries whatever the number
    of payments."""
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
    ids = {r[0] for r in rows if r[0]}
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
    return {
        "cashiers": list(by_cashier.values()),
        "total": sum(c["total"] for c in by_cashier.values()),
        "count": sum(r[2] for r in rows),
        "payments": payments,
        "names": names,
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
