"""Deposits (押金): money held for a unit, not income (DESIGN §5, contracts §9).

A deposit is a bill of a deposit fee item (models.DEPOSIT_CODES, e.g. `renovation_deposit`)
billed once per cause (`source_key`, e.g. `renovation:12:deposit`) with `issue_bill`. Only a
payment that names it (`record_payment(…, bill_ids=[…])`) pays it; what is allocated to it is
*paid in* and held. `refund_deposit` settles it once: the itemised deductions become fee
bills of the refund's day paid from the deposit (a payment of method `deposit`, so they are
income), the rest goes back to the payer (money out in the daily cash report), under a
refund number of its own (TK…, gap-free per estate).

For every deposit: held + refunded + deducted = paid in, and none of them is negative.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from portal.core import audit, clock
from portal.core.errors import Conflict, ServiceError
from portal.core.places import Unit
from portal.core.sequence import next_in_sequence
from portal.core.uploads import StoredFile
from portal.extensions import db

from ..models import (
    COUNTER_METHODS,
    DEDUCTION_CODE,
    Allocation,
    Basis,
    Bill,
    DepositDeduction,
    DepositRefund,
    FeeItem,
    Method,
    Payment,
)
from .bills import is_deposit, withdrawn
from .entries import issue_bill, lock_unit, next_receipt_number

REFUND_PREFIX = "TK"
DEDUCTIONS_AT_MOST = 50


@dataclass
class Deposit:
    """Where one deposit (the deposit bills of a unit's cause) stands, in fen."""

    unit_id: int
    source_key: str
    bill_id: int | None = None
    name: str = ""
    due_on: object = None
    billed: int = 0
    paid: int = 0
    deducted: int = 0
    refunded: int = 0
    refund_id: int | None = None
    refund_number: str | None = None

    @property
    def held(self) -> int:
        return self.paid - self.deducted - self.refunded

    @property
    def to_pay(self) -> int:
        """What is still asked for the deposit (nothing once it is settled)."""
        return 0 if self.refund_id else max(self.billed - self.paid, 0)

    def figures(self) -> dict:
        return {
            "billed": self.billed,
            "paid": self.paid,
            "deducted": self.deducted,
            "refunded": self.refunded,
            "held": self.held,
        }


def _deposits_statement(*where):
    """One row per deposit bill with what is paid on it and its refund (if any)."""
    paid = (
        select(func.coalesce(func.sum(Allocation.amount_fen), 0))
        .where(Allocation.bill_id == Bill.id)
        .correlate(Bill)
        .scalar_subquery()
    )
    return (
        select(
            Bill,
            paid.label("paid"),
            withdrawn().label("withdrawn"),
            DepositRefund.id,
            DepositRefund.number,
            DepositRefund.deducted_fen,
            DepositRefund.refunded_fen,
        )
        .outerjoin(
            DepositRefund,
            and_(
                DepositRefund.unit_id == Bill.unit_id, DepositRefund.source_key == Bill.source_key
            ),
        )
        .where(is_deposit(), *where)
        .order_by(Bill.unit_id, Bill.due_on, Bill.id)
    )


def _fold(rows) -> dict[tuple[int, str], Deposit]:
    found: dict[tuple[int, str], Deposit] = {}
    for bill, paid, is_withdrawn, refund_id, number, deducted, refunded in rows:
        key = (bill.unit_id, bill.source_key)
        entry = found.setdefault(key, Deposit(bill.unit_id, bill.source_key))
        entry.bill_id = entry.bill_id or bill.id
        entry.name = entry.name or bill.item.name
        entry.due_on = entry.due_on or bill.due_on
        entry.billed += 0 if is_withdrawn else bill.amount_fen
        entry.paid += int(paid or 0)
        if refund_id is not None:
            entry.refund_id, entry.refund_number = refund_id, number
            entry.deducted, entry.refunded = int(deducted), int(refunded)
    return found


def deposit(unit_id: int, source_key: str) -> Deposit | None:
    """The deposit of a unit's cause, or None when no deposit bill has that key."""
    rows = db.session.execute(
        _deposits_statement(Bill.unit_id == unit_id, Bill.source_key == source_key)
    ).all()
    return _fold(rows).get((unit_id, source_key))


def deposit_figures(unit_id: int, source_key: str) -> dict:
    """{billed, paid, deducted, refunded, held} in fen for the deposit bill(s) of the unit
    with that source_key (all zero when there is none)."""
    found = deposit(unit_id, source_key)
    return (found or Deposit(unit_id, source_key)).figures()


def deposits_of(unit_ids) -> dict[int, list[Deposit]]:
    """unit id → its deposits (held, to pay or settled), oldest first: one statement."""
    ids = list(unit_ids)
    result: dict[int, list[Deposit]] = {unit_id: [] for unit_id in ids}
    if not ids:
        return result
    rows = db.session.execute(_deposits_statement(Bill.unit_id.in_(ids))).all()
    for (unit_id, _key), entry in _fold(rows).items():
        result[unit_id].append(entry)
    return result


def held_fen(unit_id: int) -> int:
    """What the unit's deposits hold now."""
    return sum(d.held for d in deposits_of([unit_id])[unit_id])


def _clean_deductions(deductions) -> list[dict]:
    """The deductions checked: each a reason, an amount in fen above zero and optionally an
    uploaded file as evidence. 400 naming `deductions` otherwise; nothing is stored."""
    if deductions is None:
        return []
    if not isinstance(deductions, list | tuple) or len(deductions) > DEDUCTIONS_AT_MOST:
        raise ServiceError(_l("The deductions are not a list."), fields={"deductions": "invalid"})
    clean = []
    for row in deductions:
        if not isinstance(row, dict):
            raise ServiceError(
                _l("Each deduction needs a reason and an amount."),
                fields={"deductions": "invalid"},
            )
        reason = row.get("reason")
        reason = reason.strip() if isinstance(reason, str) else ""
        amount = row.get("amount_fen")
        evidence = row.get("evidence_file_id")
        if not reason or len(reason) > 200 or "\x00" in reason:
            raise ServiceError(
                _l("Each deduction needs a reason (at most 200 characters)."),
                fields={"deductions": "reason"},
            )
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ServiceError(
                _l("Each deduction needs an amount above zero."),
                fields={"deductions": "amount"},
            )
        if evidence is not None and (
            isinstance(evidence, bool)
            or not isinstance(evidence, int)
            or not 0 < evidence <= 2**31 - 1
            or db.session.get(StoredFile, evidence) is None
        ):
            raise ServiceError(
                _l("The evidence of a deduction is not a stored file."),
                fields={"deductions": "evidence"},
            )
        clean.append({"reason": reason, "amount_fen": amount, "evidence_file_id": evidence})
    return clean


def deduction_item(estate_id: int) -> FeeItem:
    """The estate's fee item deductions from deposits are billed under (made when first
    needed: deductions are income, in the fee report like any fee)."""
    item = db.session.scalar(
        select(FeeItem).where(FeeItem.estate_id == estate_id, FeeItem.code == DEDUCTION_CODE)
    )
    if item is None:
        item = FeeItem(
            estate_id=estate_id,
            code=DEDUCTION_CODE,
            name="押金扣款",
            basis=Basis.one_off,
            active=True,
            created_at=clock.now(),
        )
        db.session.add(item)
        db.session.flush()
    return item


def refund_deposit(unit: Unit, source_key: str, *, deductions, method: str, actor) -> DepositRefund:
    """Settle the deposit of a unit's cause: the paid-in deposit less the deductions goes
    back to the payer by `method`; each deduction becomes a bill of today paid from the
    deposit (income). One refund per deposit (a second → Conflict 409); deductions larger
    than what was paid in → 400 naming `deductions`; no deposit bill with that key → 404.
    The caller commits."""
    if method not in {m.value for m in COUNTER_METHODS}:
        raise ServiceError(_l("Choose how the deposit is paid back."), fields={"method": "unknown"})
    clean = _clean_deductions(deductions)
    lock_unit(unit.id)
    if db.session.scalar(
        select(DepositRefund.id).where(
            DepositRefund.unit_id == unit.id, DepositRefund.source_key == source_key
        )
    ):
        raise Conflict(_l("This deposit has already been refunded."))
    found = deposit(unit.id, source_key)
    if found is None:
        raise ServiceError(_l("There is no such deposit."), status=404)
    if found.paid <= 0:
        raise Conflict(_l("Nothing has been paid in for this deposit."))
    deducted = sum(d["amount_fen"] for d in clean)
    if deducted > found.paid:
        raise ServiceError(
            _l("The deductions are more than the deposit paid in."),
            fields={"deductions": "more_than_paid"},
        )
    today = clock.local_today()
    refund = DepositRefund(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        source_key=source_key,
        number=next_in_sequence(unit.estate_id, "refund", REFUND_PREFIX, with_estate=True),
        paid_fen=found.paid,
        deducted_fen=deducted,
        refunded_fen=found.paid - deducted,
        method=method,
        refunded_on=today,
        cashier_id=actor.id if actor is not None else None,
        created_at=clock.now(),
    )
    db.session.add(refund)
    db.session.flush()
    rows = [DepositDeduction(refund_id=refund.id, position=i, **d) for i, d in enumerate(clean, 1)]
    db.session.add_all(rows)
    if clean:
        _keep_deductions(unit, refund, rows, actor)
    audit.record(
        "deposit.refund",
        refund,
        actor=actor,
        estate_id=unit.estate_id,
        after={
            "number": refund.number,
            "source_key": source_key,
            "paid_fen": refund.paid_fen,
            "deducted_fen": deducted,
            "refunded_fen": refund.refunded_fen,
            "method": method,
        },
    )
    db.session.flush()
    return refund


def _keep_deductions(unit: Unit, refund: DepositRefund, rows, actor) -> None:
    """Bill each deduction (due today) and pay those bills from the deposit: a payment of
    method `deposit` with a receipt of its own, so the deductions are received today."""
    item = deduction_item(unit.estate_id)
    today = refund.refunded_on
    bills = []
    for row in rows:
        bill = issue_bill(
            unit,
            item,
            amount_fen=row.amount_fen,
            due_on=today,
            source="deposit",
            source_key=f"refund:{refund.id}:{row.position}",
            actor=actor,
            note=row.reason[:200],
            allocate_now=False,
        )
        row.bill_id = bill.id
        bills.append(bill)
    payment = Payment(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        amount_fen=refund.deducted_fen,
        method=Method.deposit.value,
        paid_on=today,
        source="deposit",
        reference=refund.number,
        receipt_number=next_receipt_number(unit.estate_id),
        cashier_id=actor.id if actor is not None and actor.is_staff else None,
        created_at=clock.now(),
    )
    db.session.add(payment)
    db.session.flush()
    made = [
        Allocation(
            payment_id=payment.id,
            bill_id=bill.id,
            amount_fen=bill.amount_fen,
            applied_on=today,
            created_at=clock.now(),
        )
        for bill in bills
    ]
    db.session.add_all(made)
    payment.result = {
        "allocations": [{"bill_id": a.bill_id, "amount_fen": a.amount_fen} for a in made],
        "credit_fen": 0,
    }
    refund.deduction_payment_id = payment.id


def refund_or_404(refund_id: int, actor) -> DepositRefund:
    """A refund of the actor's estate (another estate's, or none → 404)."""
    from portal.core.access import get_or_404

    return get_or_404(DepositRefund, refund_id, actor)


def refunds_of_day(estate_id: int, day):
    """The estate's refunds of a day (for the daily cash report)."""
    return select(DepositRefund).where(
        DepositRefund.estate_id == estate_id, DepositRefund.refunded_on == day
    )
