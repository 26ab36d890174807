"""Fee items and rates, bills, payments, allocations, online orders, collection records.

Bills and payments are append-only (DESIGN §5): a correction is a reversing row, never an
edit. Allocations link payments to bills; what a payment leaves unallocated is the unit's
credit. Every balance is derived from these rows by an aggregate query.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.places import Unit
from portal.core.types import UTCDateTime
from portal.extensions import db


class Basis(StrEnum):
    """How a fee item is charged."""

    per_m2_month = "per_m2_month"  # floor area × rate, every month
    fixed_month = "fixed_month"  # a fixed amount every month (parking management)
    one_off = "one_off"  # charged once (debris removal, renovation deposit)
    per_use = "per_use"  # paid convenience services, charged from repairs

    @property
    def label(self):
        return BASIS_LABELS[self]

    @property
    def recurring(self) -> bool:
        return self in (Basis.per_m2_month, Basis.fixed_month)


BASIS_LABELS = {
    Basis.per_m2_month: _l("Per m² per month"),
    Basis.fixed_month: _l("Fixed per month"),
    Basis.one_off: _l("One-off"),
    Basis.per_use: _l("Per use"),
}


class Method(StrEnum):
    """How a payment was made (contracts §4)."""

    cash = "cash"
    card = "card"
    wechat = "wechat"
    alipay = "alipay"
    transfer = "transfer"
    online = "online"
    # A deduction kept from a deposit pays the bill it becomes (押金抵扣): no money moves,
    # so it is never taken at the counter or through the API, nor counted as takings.
    deposit = "deposit"

    @property
    def label(self):
        return METHOD_LABELS[self]


METHOD_LABELS = {
    Method.cash: _l("Cash"),
    Method.card: _l("Bank card"),
    Method.wechat: _l("WeChat Pay"),
    Method.alipay: _l("Alipay"),
    Method.transfer: _l("Bank transfer"),
    Method.online: _l("Online (portal)"),
    Method.deposit: _l("From the deposit"),
}
COUNTER_METHODS = (Method.cash, Method.card, Method.wechat, Method.alipay, Method.transfer)


# Fee items whose bills are deposits (押金): money held for the unit, not income. Their bills
# are paid only by a payment that names them, are not fees owed or in the fee report, and
# are settled by a DepositRefund (paid in less itemised deductions, which become income).
DEPOSIT_CODES = frozenset({"renovation_deposit"})
# The fee item a deduction from a deposit is billed under (made when first needed).
DEDUCTION_CODE = "deposit_deduction"


class FeeItem(db.Model):
    """Something the centre charges for: property fee, parking, debris removal …"""

    __tablename__ = "fee_items"
    __table_args__ = (UniqueConstraint("estate_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    basis: Mapped[Basis] = mapped_column(String(20))
    # For recurring items: the kind of unit billed (residence, shop, parking, storage).
    unit_kind: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    rates: Mapped[list["FeeRate"]] = relationship(
        back_populates="item", order_by="FeeRate.effective_on.desc()"
    )

    @property
    def basis_enum(self) -> Basis:
        return Basis(self.basis)

    @property
    def is_deposit(self) -> bool:
        return self.code in DEPOSIT_CODES


class FeeRate(db.Model):
    """A rate for an item from `effective_on`, for one occupancy category or (null) all.

    `rate_fen` is fen per m² per month, fen per month, or the default one-off amount,
    depending on the item's basis. Rates are never edited: a new rate gets a new row.
    """

    __tablename__ = "fee_rates"
    __table_args__ = (
        UniqueConstraint("fee_item_id", "occupancy", "effective_on"),
        CheckConstraint("rate_fen >= 0", name="rate_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    fee_item_id: Mapped[int] = mapped_column(ForeignKey("fee_items.id"), index=True)
    occupancy: Mapped[str | None] = mapped_column(String(32))
    effective_on: Mapped[date]
    rate_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    item: Mapped[FeeItem] = relationship(back_populates="rates")


class BillingRun(db.Model):
    """A manager's billing run for one month; its summary says what was billed and why."""

    __tablename__ = "billing_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # 2026-12
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Bill(db.Model):
    """A charge to a unit. `amount_fen` is what is owed after `discount_fen` (zero only for
    a month given free, whose whole value is the recorded discount).

    `source_key` names what caused the bill (a billing run's month and item, a repair, an
    import row); it is unique per unit, so the same cause never bills twice.
    """

    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("unit_id", "source_key"),
        Index("ix_bills_estate_due", "estate_id", "due_on"),
        Index("ix_bills_unit_due", "unit_id", "due_on", "id"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint("discount_fen >= 0", name="discount_not_negative"),
        CheckConstraint("gross_fen = amount_fen + discount_fen", name="gross_adds_up"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    fee_item_id: Mapped[int] = mapped_column(ForeignKey("fee_items.id"), index=True)
    # The occupancy category the bill was charged under (for the report by category).
    occupancy: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    due_on: Mapped[date]
    gross_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    discount_rule: Mapped[str | None] = mapped_column(String(30))
    discount_note: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # run, repair, import, prepay, manual
    source_key: Mapped[str] = mapped_column(String(80))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship()
    item: Mapped[FeeItem] = relationship()
    reversal: Mapped["BillReversal | None"] = relationship(back_populates="bill")


class BillReversal(db.Model):
    """A bill withdrawn (红冲): what was paid on it goes back to the unit's credit."""

    __tablename__ = "bill_reversals"
    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    bill: Mapped[Bill] = relationship(back_populates="reversal")


class Payment(db.Model):
    """Money received for a unit, with its receipt number; a reversal is a negative payment
    that names the one it reverses (and has a receipt number of its own)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("estate_id", "receipt_number"),
        # Keys come from each estate's clients and counters: unique per estate (DESIGN §5).
        UniqueConstraint("estate_id", "idempotency_key"),
        Index("ix_payments_unit", "unit_id", "id"),
        Index("ix_payments_estate_paid", "estate_id", "paid_on"),
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[Method] = mapped_column(String(20))
    paid_on: Mapped[date]
    source: Mapped[str] = mapped_column(String(20))  # counter, online, import, api
    reference: Mapped[str | None] = mapped_column(String(100))
    payer_name: Mapped[str | None] = mapped_column(String(100))
    receipt_number: Mapped[str] = mapped_column(String(30))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    # What the first request was answered (allocations, credit): a repeat of the same
    # idempotency key gets the same body.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cashier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    unit: Mapped[Unit] = relationship()
    allocations: Mapped[list["Allocation"]] = relationship(
        back_populates="payment", order_by="Allocation.id"
    )

    @property
    def method_enum(self) -> Method:
        return Method(self.method)


class Allocation(db.Model):
    """Part of a payment applied to a bill; a negative row undoes part of one."""

    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint("amount_fen <> 0", name="amount_not_zero"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    applied_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    bill: Mapped[Bill] = relationship()


class OrderStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    expired = "expired"


class OnlineOrder(db.Model):
    """A resident's online payment, from the provider's page to its signed callback."""

    __tablename__ = "online_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    order_no: Mapped[str] = mapped_column(String(40), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[OrderStatus] = mapped_column(String(10), default=OrderStatus.pending)
    failure: Mapped[str | None] = mapped_column(String(200))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    unit: Mapped[Unit] = relationship()
    payment: Mapped[Payment | None] = relationship()


class CollectionRecord(db.Model):
    """催缴记录: one reminder sent, slip printed, call made or door visited, per household.

    Ladder steps carry their step name and are unique per bill (each is taken once);
    records staff write by hand (calls, visits) have no step.
    """

    __tablename__ = "collection_records"
    __table_args__ = (
        UniqueConstraint("bill_id", "step"),
        Index("ix_collection_records_unit", "unit_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))
    step: Mapped[str | None] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))  # app, sms, print, call, visit, review
    outcome: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DepositRefund(db.Model):
    """A deposit settled (退押金): what was paid in for the deposit bills of one cause
    (`source_key`), less the itemised deductions, paid back by `method`. Its number is
    gap-free per estate (TK…). One per deposit; never edited.

    paid_fen = deducted_fen + refunded_fen; the deductions became bills paid from the
    deposit (`deduction_payment_id`, method `deposit`), so they are income of `refunded_on`.
    """

    __tablename__ = "deposit_refunds"
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        UniqueConstraint("unit_id", "source_key"),
        Index("ix_deposit_refunds_estate_day", "estate_id", "refunded_on"),
        CheckConstraint("deducted_fen >= 0", name="deducted_not_negative"),
        CheckConstraint("refunded_fen >= 0", name="refunded_not_negative"),
        CheckConstraint("paid_fen = deducted_fen + refunded_fen", name="refund_adds_up"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(80))
    number: Mapped[str] = mapped_column(String(30))
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    deducted_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[Method] = mapped_column(String(20))
    refunded_on: Mapped[date]
    deduction_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    cashier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    unit: Mapped[Unit] = relationship()
    deductions: Mapped[list["DepositDeduction"]] = relationship(
        back_populates="refund", order_by="DepositDeduction.position"
    )

    @property
    def method_enum(self) -> Method:
        return Method(self.method)


class DepositDeduction(db.Model):
    """One itemised deduction from a deposit: a reason, an amount, optional evidence (an
    upload), and the bill it became."""

    __tablename__ = "deposit_deductions"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="deduction_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("deposit_refunds.id"), index=True)
    position: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    evidence_file_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))

    refund: Mapped[DepositRefund] = relationship(back_populates="deductions")
