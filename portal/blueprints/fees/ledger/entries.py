"""The ledger's entries: bills, payments, allocations and reversals (DESIGN §5).

Every change to a unit's money happens here, with the unit's row locked, so two cashiers
(or a cashier and an online callback) never allocate the same credit twice. Balances are
derived: what a unit owes is its live bills less what is allocated to them; its credit is
what it paid less what is allocated from its payments.
"""

import hashlib
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.core import audit, clock, figures
from portal.core.errors import Conflict, ServiceError
from portal.core.money import yuan
from portal.core.places import Unit
from portal.core.sequence import next_in_sequence
from portal.extensions import db
from portal.i18n import local_datetime

from ..models import (
    DEPOSIT_CODES,
    Allocation,
    Bill,
    BillReversal,
    DepositRefund,
    FeeItem,
    Method,
    Payment,
)
from .bills import (
    balance,
    is_deposit,
    open_bills_of,
    outstanding_bills,
    paid_on_bills,
    payment_not_reversed,
    unspent_payments,
    unspent_payments_of,
)

RECEIPT_PREFIX = "SJ"
# The same amount for the same unit again within this time is asked about first: most
# often it is the clerk's Back and submit again, not a second payment.
REPEAT_WINDOW = timedelta(minutes=10)


def next_receipt_number(estate_id: int) -> str:
    """A receipt's number: gap-free per estate and day, carrying the estate, so a number
    names one receipt in the whole company (SJ0002202612020001)."""
    return next_in_sequence(estate_id, "receipt", RECEIPT_PREFIX, with_estate=True)


def lock_unit(unit_id: int) -> None:
    """Hold the unit's row until the transaction ends: one money change per unit at a time.

    Every change to a unit's bills and payments starts here, so this is also where the
    estate's fee figures are marked as changed (core/figures.py)."""
    estate_id = db.session.scalar(
        select(Unit.estate_id).where(Unit.id == unit_id).with_for_update()
    )
    figures.changed(figures.FEES, estate_id)


def allocate(unit_id: int, applied_on: date | None = None) -> list[Allocation]:
    """Apply the unit's unspent payments to its oldest open bills. The caller holds the
    unit's lock (every function here takes it first)."""
    return _allocate(unit_id, applied_on)[0]


def _allocate(unit_id: int, applied_on: date | None = None) -> tuple[list[Allocation], int]:
    """allocate(), and the credit left over afterwards."""
    applied_on = applied_on or clock.local_today()
    payments = unspent_payments(unit_id)
    pairs = match(outstanding_bills(unit_id), payments)
    made = [
        Allocation(payment_id=p, bill_id=b, amount_fen=fen, applied_on=applied_on)
        for p, b, fen in pairs
    ]
    db.session.add_all(made)
    db.session.flush()
    return made, sum(left for _p, left in payments) - sum(fen for _p, _b, fen in pairs)


def match(bills: list[tuple[int, int]], payments: list[tuple[int, int]]):
    """(payment, bill, fen) pairs that apply payments (oldest first) to bills (oldest due
    first) until one side runs out."""
    pairs = []
    bills, payments = list(bills), list(payments)
    b = p = 0
    while b < len(bills) and p < len(payments):
        bill_id, owed = bills[b]
        payment_id, left = payments[p]
        amount = min(owed, left)
        pairs.append((payment_id, bill_id, amount))
        bills[b] = (bill_id, owed - amount)
        payments[p] = (payment_id, left - amount)
        if owed == amount:
            b += 1
        if left == amount:
            p += 1
    return pairs


def allocate_many(unit_ids, applied_on: date | None = None) -> int:
    """allocate() for many units at once (a billing run's units with credit): the units are
    locked in id order, their open bills and unspent payments read in two queries, and the
    allocations written in one statement. Returns how many allocations were made."""
    from sqlalchemy import insert

    ids = sorted(set(unit_ids))
    if not ids:
        return 0
    applied_on = applied_on or clock.local_today()
    estate_ids = db.session.scalars(
        select(Unit.estate_id).where(Unit.id.in_(ids)).order_by(Unit.id).with_for_update()
    )
    for estate_id in set(estate_ids):
        figures.changed(figures.FEES, estate_id)
    bills = open_bills_of(ids)
    payments = unspent_payments_of(ids)
    rows = [
        {
            "payment_id": p,
            "bill_id": b,
            "amount_fen": fen,
            "applied_on": applied_on,
            "created_at": clock.now(),
        }
        for unit_id in ids
        for p, b, fen in match(bills.get(unit_id, []), payments.get(unit_id, []))
    ]
    if rows:
        db.session.execute(insert(Allocation), rows)
    return len(rows)


def issue_bill(
    unit: Unit,
    item: FeeItem,
    *,
    amount_fen: int,
    due_on: date,
    source: str,
    source_key: str,
    actor=None,
    discount_fen: int = 0,
    discount_rule: str | None = None,
    discount_note: str | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    occupancy: str | None = None,
    note: str | None = None,
    run_id: int | None = None,
    allocate_now: bool = True,
) -> Bill | None:
    """Charge a unit once for one cause (source_key); None when that cause is billed."""
    if amount_fen < 0 or discount_fen < 0 or amount_fen + discount_fen <= 0:
        raise ServiceError(_l("The amount must be more than zero."), fields={"amount": "positive"})
    lock_unit(unit.id)
    exists = db.session.scalar(
        select(Bill.id).where(Bill.unit_id == unit.id, Bill.source_key == source_key)
    )
    if exists:
        return None
    bill = Bill(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        fee_item_id=item.id,
        occupancy=occupancy or unit.occupancy,
        period_start=period_start,
        period_end=period_end,
        due_on=due_on,
        gross_fen=amount_fen + discount_fen,
        discount_fen=discount_fen,
        amount_fen=amount_fen,
        discount_rule=discount_rule,
        discount_note=discount_note,
        source=source,
        source_key=source_key,
        run_id=run_id,
        note=note,
        created_by_id=actor.id if actor else None,
        created_at=clock.now(),
    )
    db.session.add(bill)
    db.session.flush()
    if allocate_now:
        allocate(unit.id)
    return bill


def request_hash(unit_id: int, amount_fen: int, method: str, bill_ids=None) -> str:
    named = f"|{','.join(str(b) for b in bill_ids)}" if bill_ids else ""
    return hashlib.sha256(f"{unit_id}|{amount_fen}|{method}{named}".encode()).hexdigest()


def named_bills(unit: Unit, bill_ids) -> list[Bill]:
    """The unit's live bills `bill_ids` names, in its order; 400 (`bill_ids`) for an id
    named twice or a bill that is not the unit's or is withdrawn."""
    from .bills import withdrawn

    ids = [int(b) for b in bill_ids]
    if len(set(ids)) != len(ids):
        raise ServiceError(_l("A bill is named twice."), fields={"bill_ids": "repeated"})
    found = {
        b.id: b
        for b in db.session.scalars(
            select(Bill).where(Bill.id.in_(ids), Bill.unit_id == unit.id, ~withdrawn())
        )
    }
    if len(found) != len(ids):
        raise ServiceError(_l("Name only live bills of this unit."), fields={"bill_ids": "unknown"})
    return [found[i] for i in ids]


def _named_owed(bills: list[Bill]) -> dict[int, int]:
    """bill id → what each named bill still asks for."""
    paid = paid_on_bills([b.id for b in bills])
    return {b.id: max(b.amount_fen - paid.get(b.id, 0), 0) for b in bills}


def _allocate_named(payment: Payment, bills: list[Bill]) -> list[Allocation]:
    """Apply the payment to the named bills in their order (deposits included), each up to
    what it still asks for (the caller made sure the payment is no more than that)."""
    owed = _named_owed(bills)
    left = payment.amount_fen
    made = []
    for bill in bills:
        fen = min(owed[bill.id], left)
        if fen > 0:
            made.append(
                Allocation(
                    payment_id=payment.id,
                    bill_id=bill.id,
                    amount_fen=fen,
                    applied_on=payment.paid_on,
                    created_at=clock.now(),
                )
            )
            left -= fen
    db.session.add_all(made)
    db.session.flush()
    return made


def record_payment(
    unit: Unit,
    amount_fen: int,
    method: str,
    *,
    actor,
    source: str,
    idempotency_key: str | None = None,
    reference: str | None = None,
    payer_name: str | None = None,
    paid_on: date | None = None,
    bill_ids=None,
) -> tuple[Payment, bool]:
    """Take a payment for a unit and allocate it to the oldest open bills (never a deposit);
    what is left over is credit. With `bill_ids` it pays those bills only, in that order (a
    deposit is paid this way), and may be no more than they ask for (400 `amount`). With an
    idempotency key, the same request again returns the first payment (created False) and
    the same key with other values is a conflict (409)."""
    if method not in Method.__members__ or method == Method.deposit:
        raise ServiceError(_l("Unknown payment method."), fields={"method": "unknown"})
    if amount_fen <= 0:
        raise ServiceError(_l("The amount must be more than zero."), fields={"amount": "positive"})
    digest = request_hash(unit.id, amount_fen, method, bill_ids)
    lock_unit(unit.id)
    if idempotency_key:
        earlier = _by_key(unit.estate_id, idempotency_key, digest)
        if earlier is not None:
            return earlier, False
    named = named_bills(unit, bill_ids) if bill_ids else None
    if named is not None and any(_settled(bill) for bill in named):
        raise Conflict(_l("This deposit has been refunded."), fields={"bill_ids": "refunded"})
    asked = sum(_named_owed(named).values()) if named is not None else None
    if asked is not None and amount_fen > asked:
        raise ServiceError(
            _l("This is more than the named bills ask for (%(owed)s yuan).", owed=yuan(asked)),
            fields={"amount": "more_than_named"},
        )
    paid_on = paid_on or clock.local_today()
    payment = Payment(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        amount_fen=amount_fen,
        method=method,
        paid_on=paid_on,
        source=source,
        reference=reference or None,
        payer_name=payer_name or None,
        idempotency_key=idempotency_key or None,
        request_hash=digest,
        cashier_id=actor.id if actor is not None and actor.is_staff else None,
        created_at=clock.now(),
    )
    try:
        with db.session.begin_nested():
            payment.receipt_number = next_receipt_number(unit.estate_id)
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:
        # Another request with this key won the race (on another unit's lock).
        earlier = _by_key(unit.estate_id, idempotency_key, digest) if idempotency_key else None
        if earlier is None:
            raise
        return earlier, False
    if named is not None:
        made = _allocate_named(payment, named)
        credit = sum(left for _p, left in unspent_payments(unit.id))  # the unit's, as before
    else:
        made, credit = _allocate(unit.id, paid_on)
    payment.result = {
        "allocations": [{"bill_id": a.bill_id, "amount_fen": a.amount_fen} for a in made],
        "credit_fen": credit,
    }
    audit.record(
        "payment.record",
        payment,
        actor=actor,
        estate_id=unit.estate_id,
        after={"amount_fen": amount_fen, "method": method, "receipt": payment.receipt_number},
    )
    return payment, True


def payment_by_key(estate_id: int, key: str) -> Payment | None:
    """The estate's payment taken with this idempotency key, whatever its values."""
    return db.session.scalar(
        select(Payment).where(Payment.estate_id == estate_id, Payment.idempotency_key == key)
    )


def reasons_to_confirm(unit: Unit, amount_fen: int) -> list[str]:
    """Why a payment at the counter should be confirmed before it is taken: it is more than
    the unit owes, or the same amount was taken for the unit a few minutes ago."""
    reasons = []
    owed = balance(unit.id).owed_fen
    if amount_fen > owed and owed == 0:
        reasons.append(
            _l(
                "The unit owes nothing now: all %(credit)s yuan will become credit.",
                credit=yuan(amount_fen),
            )
        )
    elif amount_fen > owed:
        reasons.append(
            _l(
                "This is more than the unit owes (%(owed)s yuan): "
                "%(credit)s yuan will become credit.",
                owed=yuan(owed),
                credit=yuan(amount_fen - owed),
            )
        )
    recent = db.session.scalar(
        select(Payment)
        .where(
            Payment.unit_id == unit.id,
            Payment.amount_fen == amount_fen,
            Payment.reverses_id.is_(None),
            Payment.created_at >= clock.now() - REPEAT_WINDOW,
            payment_not_reversed(),
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if recent is not None:
        reasons.append(
            _l(
                "%(amount)s yuan was already taken for this unit at %(time)s (receipt %(number)s).",
                amount=yuan(amount_fen),
                time=local_datetime(recent.created_at, "HH:mm"),
                number=recent.receipt_number,
            )
        )
    return reasons


def _by_key(estate_id: int, key: str, digest: str) -> Payment | None:
    """The estate's payment with this idempotency key (keys are unique per estate)."""
    earlier = payment_by_key(estate_id, key)
    if earlier is None:
        return None
    if earlier.request_hash != digest:
        raise Conflict(
            _l("This idempotency key was used for another payment."),
            fields={"idempotency_key": "reused"},
        )
    return earlier


def reverse_payment(payment: Payment, *, reason: str, actor) -> Payment:
    """Undo a payment with a negative one (红冲): its allocations are undone, the bills it
    paid reopen, and the unit's other credit is applied again."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Say why the payment is reversed."), fields={"reason": "required"})
    if payment.reverses_id is not None:
        raise Conflict(_l("A reversal cannot be reversed."))
    if payment.method == Method.deposit:
        raise Conflict(_l("Deductions kept from a deposit are not reversed as a payment."))
    lock_unit(payment.unit_id)
    if _pays_a_settled_deposit(Allocation.payment_id == payment.id):
        raise Conflict(_l("This payment paid a deposit that has been refunded."))
    if db.session.scalar(select(Payment.id).where(Payment.reverses_id == payment.id)):
        raise Conflict(_l("This payment has already been reversed."))
    reversal = Payment(
        estate_id=payment.estate_id,
        unit_id=payment.unit_id,
        amount_fen=-payment.amount_fen,
        method=payment.method,
        paid_on=clock.local_today(),
        source=payment.source,
        reverses_id=payment.id,
        reason=reason[:200],
        cashier_id=actor.id if actor is not None else None,
        receipt_number=next_receipt_number(payment.estate_id),
        created_at=clock.now(),
    )
    db.session.add(reversal)
    _undo_allocations(Allocation.payment_id == payment.id, group=Allocation.bill_id)
    db.session.flush()
    allocate(payment.unit_id)
    audit.record(
        "payment.reverse",
        payment,
        actor=actor,
        estate_id=payment.estate_id,
        after={"reversal": reversal.receipt_number, "reason": reason},
    )
    return reversal


def reverse_bill(bill: Bill, *, reason: str, actor) -> BillReversal:
    """Withdraw a bill: what was paid on it returns to the unit's credit and pays the
    next open bills."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Say why the bill is withdrawn."), fields={"reason": "required"})
    lock_unit(bill.unit_id)
    if db.session.scalar(select(BillReversal.id).where(BillReversal.bill_id == bill.id)):
        raise Conflict(_l("This bill has already been withdrawn."))
    if _pays_a_settled_deposit(Allocation.bill_id == bill.id) or _settled(bill):
        raise Conflict(_l("This deposit has been refunded."))
    if bill.source == "deposit":
        # A deduction kept from a deposit at its refund: the refund slip says it was kept.
        raise Conflict(_l("A deduction kept from a deposit cannot be withdrawn."))
    if bill.item.code in DEPOSIT_CODES and paid_on_bills([bill.id]).get(bill.id, 0) > 0:
        # Held money: it goes back through the deposit's refund, never into the credit.
        raise Conflict(_l("Refund the deposit, or reverse its payment, first."))
    reversal = BillReversal(
        bill_id=bill.id, reason=reason[:200], created_by_id=actor.id, created_at=clock.now()
    )
    db.session.add(reversal)
    _undo_allocations(Allocation.bill_id == bill.id, group=Allocation.payment_id)
    db.session.flush()
    allocate(bill.unit_id)
    audit.record(
        "bill.reverse",
        bill,
        actor=actor,
        estate_id=bill.estate_id,
        after={"amount_fen": bill.amount_fen, "reason": reason},
    )
    return reversal


def _undo_allocations(where, *, group) -> None:
    """Add negative allocations that bring the matching allocations to zero."""
    rows = db.session.execute(
        select(Allocation.payment_id, Allocation.bill_id, func.sum(Allocation.amount_fen))
        .where(where)
        .group_by(Allocation.payment_id, Allocation.bill_id)
        .having(func.sum(Allocation.amount_fen) != 0)
    ).all()
    today = clock.local_today()
    db.session.add_all(
        Allocation(payment_id=p, bill_id=b, amount_fen=-int(fen), applied_on=today)
        for p, b, fen in rows
    )


def _settled(bill: Bill) -> bool:
    """Whether a refund settled the deposit of this bill's cause."""
    if bill.item.code not in DEPOSIT_CODES:
        return False
    return (
        db.session.scalar(
            select(DepositRefund.id).where(
                DepositRefund.unit_id == bill.unit_id,
                DepositRefund.source_key == bill.source_key,
            )
        )
        is not None
    )


def _pays_a_settled_deposit(where) -> bool:
    """Whether allocations matching `where` paid a deposit that a refund has settled: undoing
    them would take back money already paid out or kept (held would go below zero)."""
    return (
        db.session.scalar(
            select(Allocation.id)
            .join(Bill, Bill.id == Allocation.bill_id)
            .join(
                DepositRefund,
                (DepositRefund.unit_id == Bill.unit_id)
                & (DepositRefund.source_key == Bill.source_key),
            )
            .where(where, is_deposit())
            .limit(1)
        )
        is not None
    )
