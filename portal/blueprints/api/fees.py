"""API: bills, billing runs, payments, online payments and receipts (contracts §5)."""

from datetime import date
from typing import Literal

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.spec import route
from portal.blueprints.fees import billing, ledger, online
from portal.blueprints.fees.models import Bill, FeeItem, Method, Payment
from portal.blueprints.fees.receipts import receipt_or_404, receipt_pdf
from portal.core.access import (
    COUNTER,
    MANAGERS,
    RESIDENTS,
    SUPERVISORS,
    acting_estate_id,
    get_or_404,
    visible,
)
from portal.core.downloads import pdf_response
from portal.core.errors import ServiceError
from portal.core.money import parse_yuan, yuan
from portal.core.places import Unit
from portal.extensions import db


class BillQuery(s.PageQuery):
    unit_id: s.Id | None = None
    status: Literal["open", "paid"] | None = Field(None, description="open: something is owed")


class BillOut(BaseModel):
    id: int
    unit_id: int
    fee_item: str
    name: str
    period_start: date | None
    period_end: date | None
    due_on: date
    amount: str = Field(description="Owed after the discount, yuan")
    discount: str
    discount_rule: str | None
    paid: str
    owed: str
    status: Literal["open", "paid", "withdrawn"]


class BillPage(s.Page[BillOut]):
    pass


class BillingRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(description="The month to bill, YYYY-MM", examples=["2026-12"])


class BillingRunOut(BaseModel):
    id: int
    period: str
    job: s.JobOut


def money_field(value):
    """Money arrives as a string "1234.50" (a JSON number is accepted and checked too)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError('an amount like "1234.50"')
    return str(value)


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: s.Id
    amount: s.Money
    method: Method
    idempotency_key: str = Field(min_length=1, max_length=80)
    reference: str | None = Field(None, max_length=100)
    payer_name: str | None = Field(None, max_length=100)
    bill_ids: list[s.Id] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="Pay these bills only, in this order, and no more than they ask for "
        "(a deposit is paid only this way)",
    )

    _amount = field_validator("amount", mode="before")(money_field)


class AllocationOut(BaseModel):
    bill_id: int
    amount: str


class PaymentOut(BaseModel):
    id: int
    receipt_number: str
    unit_id: int
    amount: str
    method: str
    paid_on: date
    allocations: list[AllocationOut]
    credit: str = Field(description="The unit's credit after this payment")
    receipt_url: str


class ReverseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)


class OnlineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: s.Id
    amount: s.Money
    _amount = field_validator("amount", mode="before")(money_field)


class OnlineOut(BaseModel):
    order_no: str
    amount: str
    status: str
    checkout_url: str


class NotificationIn(BaseModel):
    order_no: str = Field(max_length=40)
    status: Literal["SUCCESS", "FAIL"]
    amount: str = Field(max_length=20)
    trade_no: str = Field("", max_length=100)
    sign: str = Field(max_length=200)


class NotificationOut(BaseModel):
    order_no: str
    status: str


def payment_out(payment: Payment) -> PaymentOut:
    result = payment.result or {"allocations": [], "credit_fen": 0}
    return PaymentOut(
        id=payment.id,
        receipt_number=payment.receipt_number,
        unit_id=payment.unit_id,
        amount=yuan(payment.amount_fen),
        method=payment.method,
        paid_on=payment.paid_on,
        allocations=[
            AllocationOut(bill_id=a["bill_id"], amount=yuan(a["amount_fen"]))
            for a in result["allocations"]
        ],
        credit=yuan(result["credit_fen"]),
        receipt_url=url_for("api.get_receipt", receipt_number=payment.receipt_number),
    )


@route(
    bp,
    "/bills",
    summary="Bills the caller may see (a resident: their units'), oldest due first",
    query=BillQuery,
    response=BillPage,
    tags=("fees",),
)
def list_bills(query):
    """Bills with what is paid and owed on each; filter by unit and open/paid."""
    paid, is_withdrawn = ledger.paid_fen(), ledger.withdrawn()
    stmt = (
        select(Bill, paid.label("paid"), is_withdrawn.label("withdrawn"))
        .where(visible(Bill, current_user))
        .order_by(Bill.due_on, Bill.id)
    )
    if query.unit_id is not None:
        get_or_404(Unit, query.unit_id)
        stmt = stmt.where(Bill.unit_id == query.unit_id)
    if query.status is not None:
        stmt = stmt.where(ledger.bill_status(paid=paid) == query.status)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(
        stmt.limit(query.per_page).offset((query.page - 1) * query.per_page)
    ).all()
    items = {
        i.id: i
        for i in db.session.scalars(
            select(FeeItem).where(FeeItem.id.in_({b.fee_item_id for b, _p, _w in rows}))
        )
    }
    out = []
    for bill, paid_fen, withdrawn in rows:
        state = ledger.bill_state(bill.amount_fen, paid_fen, withdrawn)
        out.append(
            BillOut(
                id=bill.id,
                unit_id=bill.unit_id,
                fee_item=items[bill.fee_item_id].code,
                name=items[bill.fee_item_id].name,
                period_start=bill.period_start,
                period_end=bill.period_end,
                due_on=bill.due_on,
                amount=yuan(bill.amount_fen),
                discount=yuan(bill.discount_fen),
                discount_rule=bill.discount_rule,
                paid=yuan(state.paid),
                owed=yuan(state.owed),
                status=state.status,
            ).model_dump(mode="json")
        )
    return {"items": out, "page": query.page, "per_page": query.per_page, "total": total}


@route(
    bp,
    "/billing-runs",
    method="POST",
    summary="Start a billing run for a month (a background job)",
    body=BillingRunIn,
    response=BillingRunOut,
    status=202,
    roles=MANAGERS,
    errors=(400, 409),
    tags=("fees",),
)
def create_billing_run(body):
    """Bill every billable unit of the caller's estate for the month, once."""
    from portal.jobs import Job

    estate_id = acting_estate_id()
    run = billing.start_run(estate_id, body.period, actor=current_user)
    db.session.commit()
    job = db.session.get(Job, run.job_id)
    return BillingRunOut(
        id=run.id,
        period=run.period,
        job=s.JobOut(id=job.id, kind=job.kind, status=job.status, progress=job.progress),
    )


@route(
    bp,
    "/payments",
    method="POST",
    summary="Record a payment for a unit; it pays the oldest open bills first, or the bills "
    "named by bill_ids",
    body=PaymentIn,
    response=PaymentOut,
    status=201,
    errors=(400, 403, 404, 409),
    tags=("fees",),
)
def create_payment(body):
    """201 with the receipt; the same idempotency key again answers 200 with the same
    body; the same key with other values answers 409."""
    unit = get_or_404(Unit, body.unit_id)
    if current_user.role not in COUNTER:
        raise ServiceError(_l("Residents pay online: POST /api/v1/payments/online."), status=403)
    fen = parse_yuan(body.amount)
    payment, created = ledger.record_payment(
        unit,
        fen,
        body.method.value,
        actor=current_user,
        source="api",
        idempotency_key=f"api:{body.idempotency_key}",
        reference=body.reference,
        payer_name=body.payer_name,
        bill_ids=body.bill_ids,
    )
    db.session.commit()
    out = payment_out(payment).model_dump(mode="json")
    return out, (201 if created else 200)


@route(
    bp,
    "/payments/<int:payment_id>/reverse",
    method="POST",
    summary="Reverse a payment (红冲); the bills it paid reopen",
    body=ReverseIn,
    response=PaymentOut,
    status=201,
    roles=SUPERVISORS,
    errors=(400, 404, 409),
    tags=("fees",),
)
def reverse_payment(payment_id, body):
    """A reversal is a negative payment with its own receipt number; never an edit."""
    payment = get_or_404(Payment, payment_id)
    reversal = ledger.reverse_payment(payment, reason=body.reason, actor=current_user)
    db.session.commit()
    reversal.result = {"allocations": [], "credit_fen": ledger.balance(payment.unit_id).credit_fen}
    return payment_out(reversal)


@route(
    bp,
    "/payments/online",
    method="POST",
    summary="A resident starts paying a unit's bills online",
    body=OnlineIn,
    response=OnlineOut,
    status=201,
    roles=RESIDENTS,
    errors=(400, 404, 409),
    tags=("fees",),
)
def create_online_payment(body):
    """Returns where to send the payer (the provider's checkout page)."""
    unit = get_or_404(Unit, body.unit_id)
    order = online.create_order(current_user, unit, parse_yuan(body.amount))
    db.session.commit()
    return OnlineOut(
        order_no=order.order_no,
        amount=yuan(order.amount_fen),
        status=order.status,
        checkout_url=online.provider(order.provider).checkout_url(order),
    )


@route(
    bp,
    "/payments/callback/<provider>",
    method="POST",
    summary="The payment provider's signed notification (server to server)",
    body=NotificationIn,
    response=NotificationOut,
    public=True,
    errors=(400,),
    tags=("fees",),
)
def payment_callback(provider, body):
    """Verified by its signature; a repeated success records one payment."""
    payload = body.model_dump()
    signature = payload.pop("sign")
    order = online.handle_notification(provider, payload, signature)
    db.session.commit()
    return NotificationOut(order_no=order.order_no, status=order.status)


@route(
    bp,
    "/receipts/<receipt_number>.pdf",
    summary="A receipt (收据) as a PDF",
    errors=(404,),
    tags=("fees",),
)
def get_receipt(receipt_number):
    """Staff of the estate, or a resident of the unit."""
    payment = receipt_or_404(receipt_number, current_user)
    return pdf_response(receipt_pdf(payment), f"{payment.receipt_number}.pdf")
