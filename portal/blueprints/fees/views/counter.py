"""The counter (front desk): a unit's account, payments, the year in advance, reversals,
withdrawn bills and receipts."""

import uuid

from flask import flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from portal.core.access import (
    COUNTER,
    DESK,
    MANAGERS,
    READERS,
    SUPERVISORS,
    as_id,
    get_or_404,
    roles_required,
)
from portal.core.downloads import pdf_response
from portal.core.errors import ServiceError
from portal.core.money import parse_yuan, yuan
from portal.core.places import Building, Unit
from portal.extensions import db

from .. import ledger, prepay
from ..accounts import account
from ..collection_forms import CounterPaymentForm
from ..forms import PaymentForm, PrepayForm, ReasonForm
from ..ledger import entries
from ..ledger.deposits import deposits_of
from ..models import Bill, DepositRefund, Payment
from ..receipts import receipt_or_404, receipt_pdf
from ..refunds import refund_slip_pdf
from .blueprint import bp

PLACE = (joinedload(Unit.building).joinedload(Building.zone),)


def new_key() -> str:
    return uuid.uuid4().hex


def account_page(unit: Unit, form: PaymentForm, status: int = 200):
    """The account page around a payment form (fresh, with its errors, or asking to confirm)."""
    if not form.confirm.errors:
        del form.confirm  # the confirm box shows only with the reasons to confirm
    data = account(unit)
    deposits = deposits_of([unit.id])[unit.id]
    response = make_response(
        render_template(
            "fees/account.html",
            unit=unit,
            form=form,
            deposits=deposits,
            held=sum(d.held for d in deposits),
            deposit_forms={
                d.bill_id: CounterPaymentForm(
                    formdata=None,
                    idempotency_key=new_key(),
                    amount=yuan(d.to_pay),
                    bill_id=str(d.bill_id),
                )
                for d in deposits
                if d.to_pay
            },
            prepay_form=PrepayForm(idempotency_key=new_key()),
            reason_form=ReasonForm(),
            offer=prepay.offer(unit),
            can_take=current_user.role in COUNTER,
            can_correct=current_user.role in SUPERVISORS,
            can_withdraw=current_user.role in MANAGERS,
            **data,
        ),
        status,
    )
    # The forms carry one-time keys: a page kept by the browser must never be reused.
    response.headers["Cache-Control"] = "no-store"
    return response


def back_to(unit_id: int, **args):
    return redirect(url_for(".unit_account", unit_id=unit_id, **args), 303)


@bp.route("/units/<int:unit_id>", methods=["GET"])
@roles_required(READERS)
def unit_account(unit_id):
    """A unit's account at the counter: what it owes, its credit, bills and receipts."""
    unit = get_or_404(Unit, unit_id, options=PLACE)
    owed = ledger.balance(unit.id).owed_fen
    form = CounterPaymentForm(idempotency_key=new_key(), amount=yuan(owed or None))
    return account_page(unit, form)


@bp.route("/units/<int:unit_id>/pay", methods=["POST"])
@roles_required(COUNTER)
def take_payment(unit_id):
    """Take a payment at the counter. The form's key is spent by the payment: the same form
    again shows the first receipt. More than is owed, or the same amount again within
    minutes (Back, then submit again), is taken only once the clerk confirms it."""
    unit = get_or_404(Unit, unit_id, options=PLACE)
    form = CounterPaymentForm()
    if not form.validate_on_submit():
        return account_page(unit, form, 400)
    key = f"counter:{form.idempotency_key.data}"
    bill_ids = None
    if form.bill_id.data:
        bill_id = as_id(form.bill_id.data)
        if bill_id is None:
            form.amount.errors = [*form.amount.errors, _("Name only live bills of this unit.")]
            return account_page(unit, form, 400)
        bill_ids = [bill_id]
    try:
        amount_fen = parse_yuan(form.amount.data)
        earlier = entries.payment_by_key(unit.estate_id, key)
        if earlier is not None:
            return already_taken(unit, form, earlier, amount_fen, bill_ids)
        # A deposit named by the form is not a fee owed: the reasons about fees do not apply.
        confirmed = form.confirm.data or bill_ids is not None
        reasons = [] if confirmed else entries.reasons_to_confirm(unit, amount_fen)
        if reasons:
            form.confirm.errors = reasons  # nothing is recorded until the clerk confirms
            return account_page(unit, form)
        payment, created = ledger.record_payment(
            unit,
            amount_fen,
            form.method.data,
            actor=current_user,
            source="counter",
            idempotency_key=key,
            payer_name=form.payer_name.data,
            reference=form.reference.data,
            bill_ids=bill_ids,
        )
    except ServiceError as exc:
        db.session.rollback()
        form.amount.errors = [*form.amount.errors, str(exc.message)]
        return account_page(unit, form, 400)
    db.session.commit()
    flash(taken_message(payment, created), "success")
    return back_to(unit.id, receipt=payment.receipt_number)


def already_taken(unit: Unit, form: PaymentForm, earlier: Payment, amount_fen: int, bill_ids=None):
    """The form's key already took a payment: the same form again leads to its receipt;
    other values keep the input under a new key, so taking another payment is a choice."""
    digest = entries.request_hash(unit.id, amount_fen, form.method.data, bill_ids)
    if earlier.request_hash == digest:
        flash(taken_message(earlier, False), "success")
        return back_to(unit.id, receipt=earlier.receipt_number)
    form.idempotency_key.data = new_key()
    message = _(
        "This form already took a payment: receipt %(number)s. "
        "Submit again to take another payment.",
        number=earlier.receipt_number,
    )
    form.amount.errors = [*form.amount.errors, message]
    return account_page(unit, form, 409)


def taken_message(payment: Payment, created: bool) -> str:
    if not created:
        return _(
            "This payment was already taken: receipt %(number)s.", number=payment.receipt_number
        )
    return _(
        "Payment of %(amount)s yuan taken: receipt %(number)s.",
        amount=yuan(payment.amount_fen),
        number=payment.receipt_number,
    )


@bp.route("/units/<int:unit_id>/prepay", methods=["POST"])
@roles_required(COUNTER)
def take_prepayment(unit_id):
    """Bill the next twelve months with the free months and take the payment."""
    unit = get_or_404(Unit, unit_id, options=PLACE)
    form = PrepayForm()
    if not form.validate_on_submit():
        flash(_("Choose how the year is paid."), "danger")
        return back_to(unit.id)
    try:
        offer, payment = prepay.take(
            unit,
            method=form.method.data,
            actor=current_user,
            idempotency_key=f"prepay:{form.idempotency_key.data}",
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return back_to(unit.id)
    db.session.commit()
    message = _(
        "A year paid in advance: %(amount)s yuan, %(free)d months free. Receipt %(number)s.",
        amount=yuan(payment.amount_fen),
        free=offer.free_months,
        number=payment.receipt_number,
    )
    flash(message, "success")
    return back_to(unit.id, receipt=payment.receipt_number)


@bp.route("/payments/<int:payment_id>/reverse", methods=["POST"])
@roles_required(SUPERVISORS)
def reverse_payment(payment_id):
    """Reverse a payment (红冲) with a reason: the bills it paid reopen."""
    payment = get_or_404(Payment, payment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why the payment is reversed."), "danger")
        return back_to(payment.unit_id)
    try:
        reversal = ledger.reverse_payment(payment, reason=form.reason.data, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return back_to(payment.unit_id)
    db.session.commit()
    numbers = {"number": payment.receipt_number, "reversal": reversal.receipt_number}
    flash(_("Receipt %(number)s reversed by %(reversal)s.", **numbers), "success")
    return back_to(payment.unit_id)


@bp.route("/bills/<int:bill_id>/withdraw", methods=["POST"])
@roles_required(MANAGERS)
def withdraw_bill(bill_id):
    """Withdraw a wrong bill with a reason: what was paid on it becomes credit."""
    bill = get_or_404(Bill, bill_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why the bill is withdrawn."), "danger")
        return back_to(bill.unit_id)
    try:
        ledger.reverse_bill(bill, reason=form.reason.data, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return back_to(bill.unit_id)
    db.session.commit()
    flash(_("The bill was withdrawn."), "success")
    return back_to(bill.unit_id)


@bp.route("/receipts/<number>.pdf")
@login_required
def receipt(number):
    """Print or download a receipt."""
    payment = receipt_or_404(number, current_user)
    return pdf_response(receipt_pdf(payment), f"{payment.receipt_number}.pdf")


@bp.route("/refunds/<int:refund_id>.pdf")
@roles_required(DESK)
def refund_slip(refund_id):
    """Print a deposit's refund slip (押金退款单): the desk of the refund's estate."""
    refund = get_or_404(DepositRefund, refund_id)
    return pdf_response(refund_slip_pdf(refund), f"{refund.number}.pdf")
