"""Receipts (收据): what a payment paid when it was taken, printed in Chinese."""

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.core import clock
from portal.core.access import acting_estate_id, get_or_404, visible
from portal.core.money import chinese_upper
from portal.core.people import User
from portal.core.places import Estate
from portal.extensions import db

from .models import METHOD_LABELS, Bill, Method, Payment


def receipt_or_404(number: str, actor) -> Payment:
    """The receipt with this number the actor may see.

    A number carries its estate, so a company-wide user reaches any of the company's
    receipts by its number. Numbers given before they carried the estate may repeat
    between estates: such a number is read as the acting estate's receipt.
    """
    where = []
    if actor.is_company_wide and "\x00" not in number and _repeated(number, actor):
        where = [Payment.estate_id == acting_estate_id(actor)]
    return get_or_404(Payment, number, actor, by=Payment.receipt_number, where=where)


def _repeated(number: str, actor) -> bool:
    """Whether more than one of the actor's estates has a receipt with this number."""
    found = db.session.scalars(
        select(Payment.id).where(Payment.receipt_number == number, visible(Payment, actor)).limit(2)
    ).all()
    return len(found) > 1


def receipt_lines(payment: Payment) -> list[tuple[Bill, int]]:
    """(bill, fen) the payment paid when it was taken (credit it left may pay later bills;
    the receipt does not change). A reversal shows its original's lines."""
    first = payment.result or {"allocations": []}
    amounts: dict[int, int] = {}
    for a in first["allocations"]:
        amounts[a["bill_id"]] = amounts.get(a["bill_id"], 0) + a["amount_fen"]
    bills = db.session.scalars(
        select(Bill)
        .where(Bill.id.in_(list(amounts)))
        .options(joinedload(Bill.item))
        .order_by(Bill.due_on, Bill.id)
    ).all()
    return [(b, amounts[b.id]) for b in bills]


def receipt_pdf(payment: Payment) -> bytes:
    """The receipt of a payment or a reversal as PDF bytes (always in Chinese)."""
    from portal.pdf import render_pdf

    original = db.session.get(Payment, payment.reverses_id) if payment.reverses_id else None
    lines = receipt_lines(original or payment)
    allocated = sum(fen for _bill, fen in lines)
    with force_locale("zh_CN"):
        return render_pdf(
            "fees/receipt.html",
            payment=payment,
            original=original,
            lines=lines,
            estate=db.session.get(Estate, payment.estate_id),
            cashier=db.session.get(User, payment.cashier_id) if payment.cashier_id else None,
            upper=chinese_upper(payment.amount_fen),
            unallocated=abs(payment.amount_fen) - allocated if not payment.reverses_id else 0,
            method_label=METHOD_LABELS[Method(payment.method)],
            printed_at=clock.now(),
        )
