"""The daily cash report (日结): one estate's takings of a day per cashier and method."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.blueprints.fees.models import METHOD_LABELS, Method, Payment
from portal.core.people import User
from portal.core.places import Building, Unit
from portal.extensions import db

RECEIPTS_SHOWN = 500


def _of_the_day(estate_id: int, day: date):
    """Counter, API and online payments of the day (imported history is not takings)."""
    return (Payment.estate_id == estate_id, Payment.paid_on == day, Payment.source != "import")


def cash_figures(estate_id: int, day: date) -> dict:
    """Per cashier and method: receipts and amounts of the day (reversals subtract), and
    every receipt of the day. Three queries whatever the number of payments."""
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
        .limit(RECEIPTS_SHOWN)
    ).all()
    return {
        "cashiers": list(by_cashier.values()),
        "total": sum(c["total"] for c in by_cashier.values()),
        "payments": payments,
        "names": names,
    }
