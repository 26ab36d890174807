"""Deposits for other lines (renovation): one place to import what they call.

    from portal.blueprints.fees.refunds import deposit_figures, refund_deposit, refund_slip_pdf

and the refund slip (押金退款单): a settled deposit printed in Chinese, with its deductions.
"""

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.core import clock
from portal.core.money import chinese_upper
from portal.core.people import User
from portal.core.places import Estate
from portal.extensions import db

from .ledger.deposits import deposit_figures, refund_deposit, refund_or_404
from .models import METHOD_LABELS, Bill, DepositRefund, Method

__all__ = ["deposit_figures", "refund_deposit", "refund_or_404", "refund_slip_pdf"]


def refund_slip_pdf(refund: DepositRefund) -> bytes:
    """The refund slip of a settled deposit as PDF bytes (always in Chinese): its number,
    the deposit paid in, each deduction with its reason, and the amount paid back."""
    from portal.pdf import render_pdf

    deposit_bill = db.session.scalar(
        select(Bill)
        .where(Bill.unit_id == refund.unit_id, Bill.source_key == refund.source_key)
        .options(joinedload(Bill.item))
        .limit(1)
    )
    with force_locale("zh_CN"):
        return render_pdf(
            "fees/refund.html",
            refund=refund,
            deposit_bill=deposit_bill,
            deductions=refund.deductions,
            estate=db.session.get(Estate, refund.estate_id),
            cashier=db.session.get(User, refund.cashier_id) if refund.cashier_id else None,
            upper=chinese_upper(refund.refunded_fen),
            method_label=METHOD_LABELS[Method(refund.method)],
            printed_at=clock.now(),
        )
