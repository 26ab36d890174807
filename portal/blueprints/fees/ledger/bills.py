"""What a bill and a unit stand at: the one definition of paid, owed, open and status.

A bill's *paid* is the sum of its allocations (optionally those applied by a date); it is
*withdrawn* when a BillReversal names it; it is *open* when it is live and asks for more
than is paid on it; its *status* is withdrawn, open or paid. A *deposit* bill (a fee item of
DEPOSIT_CODES) is money to be held, not a fee: it is never open for the fee rules (what a unit
owes, arrears, reminders, slips, automatic allocation), and is paid only by a payment that
names it (see deposits.py). Each rule exists once here, as
SQL expressions for queries and as `bill_state()` for rows already loaded; every page,
report, reminder, slip and API answer uses these.
"""

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import and_, case, func, literal, select

from portal.core.places import Unit
from portal.extensions import db

from ..models import DEPOSIT_CODES, Allocation, Bill, BillReversal, FeeItem, Payment

OPEN, PAID, WITHDRAWN = "open", "paid", "withdrawn"
STATUSES = (OPEN, PAID, WITHDRAWN)


def owes(amount, paid):
    """The rule of an unpaid bill: less is paid on it than it asks for. Works alike on
    integers and on SQL expressions."""
    return amount > paid


def withdrawn(bill=Bill):
    """SQL: the bill has been withdrawn."""
    return select(BillReversal.id).where(BillReversal.bill_id == bill.id).exists()


def deposit_item_ids():
    """SQL: the ids of the fee items whose bills are deposits (any estate)."""
    return select(FeeItem.id).where(FeeItem.code.in_(DEPOSIT_CODES))


def is_deposit(bill=Bill):
    """SQL: the bill is a deposit (money held for the unit, not a fee)."""
    return bill.fee_item_id.in_(deposit_item_ids())


def not_deposit(bill=Bill):
    """SQL: the bill is a fee (not a deposit)."""
    return bill.fee_item_id.not_in(deposit_item_ids())


def not_reversed(bill=Bill):
    """SQL: the bill is live (not withdrawn)."""
    return ~withdrawn(bill)


def paid_fen(bill=Bill, as_of: date | None = None):
    """SQL: fen allocated to the bill of the enclosing query (applied by `as_of` if given)."""
    stmt = select(func.coalesce(func.sum(Allocation.amount_fen), 0)).where(
        Allocation.bill_id == bill.id
    )
    if as_of is not None:
        stmt = stmt.where(Allocation.applied_on <= as_of)
    return stmt.correlate(bill).scalar_subquery()


def owed_fen(bill=Bill, as_of: date | None = None):
    """SQL: what an open bill still asks for (use with `open_bill()`)."""
    return bill.amount_fen - paid_fen(bill, as_of)


def open_bill(bill=Bill, as_of: date | None = None):
    """SQL: the bill is a live fee (not a deposit) not fully paid (by `as_of` if given)."""
    return and_(not_reversed(bill), not_deposit(bill), owes(bill.amount_fen, paid_fen(bill, as_of)))


def bill_status(bill=Bill, paid=None):
    """SQL: 'withdrawn', 'open' or 'paid'."""
    paid = paid if paid is not None else paid_fen(bill)
    return case(
        (withdrawn(bill), literal(WITHDRAWN)),
        (owes(bill.amount_fen, paid), literal(OPEN)),
        else_=literal(PAID),
    )


def paid_by(as_of: date, *where, columns=()):
    """A subquery of live fee bills (deposits are not fees) matching `where`, one row per
    bill with `columns` and `paid` = what was allocated to it by `as_of` — the set-based
    form (a join grouped by bill) for reports over many bills."""
    return (
        select(
            Bill.id.label("bill_id"),
            *columns,
            func.coalesce(func.sum(Allocation.amount_fen), 0).label("paid"),
        )
        .outerjoin(Allocation, and_(Allocation.bill_id == Bill.id, Allocation.applied_on <= as_of))
        .where(not_reversed(), not_deposit(), *where)
        .group_by(Bill.id)
    )


class BillState(NamedTuple):
    """Where one bill stands: fen paid on it, fen still owed, and its status."""

    paid: int
    owed: int
    status: str


def bill_state(amount_fen: int, paid: int, is_withdrawn: bool) -> BillState:
    """The same rules as the SQL above, for a bill already loaded."""
    paid = int(paid or 0)
    if is_withdrawn:
        return BillState(paid, 0, WITHDRAWN)
    if owes(amount_fen, paid):
        return BillState(paid, amount_fen - paid, OPEN)
    return BillState(paid, 0, PAID)


def bill_states(bills) -> dict[int, BillState]:
    """bill id → its state, for loaded bills (one query; `bill.reversal` should be loaded)."""
    paid = paid_on_bills([b.id for b in bills])
    return {
        b.id: bill_state(b.amount_fen, paid.get(b.id, 0), b.reversal is not None) for b in bills
    }


def paid_on_bills(bill_ids) -> dict[int, int]:
    """bill id → fen allocated to it (one query)."""
    bill_ids = list(bill_ids)
    if not bill_ids:
        return {}
    rows = db.session.execute(
        select(Allocation.bill_id, func.sum(Allocation.amount_fen))
        .where(Allocation.bill_id.in_(bill_ids))
        .group_by(Allocation.bill_id)
    ).all()
    return {bill_id: int(fen) for bill_id, fen in rows}


def open_bills_of(unit_ids) -> dict[int, list[tuple[int, int]]]:
    """unit id → its open fee bills as (bill id, fen owed), oldest due first (one query);
    deposits are left out: automatic allocation never pays one."""
    paid = paid_fen()
    found: dict[int, list] = {}
    for unit_id, bill_id, owed in db.session.execute(
        select(Bill.unit_id, Bill.id, Bill.amount_fen - paid)
        .where(
            Bill.unit_id.in_(list(unit_ids)),
            not_reversed(),
            not_deposit(),
            owes(Bill.amount_fen, paid),
        )
        .order_by(Bill.unit_id, Bill.due_on, Bill.id)
    ):
        found.setdefault(unit_id, []).append((bill_id, int(owed)))
    return found


def outstanding_bills(unit_id: int) -> list[tuple[int, int]]:
    """(bill id, fen still owed) of the unit's open bills, oldest due first."""
    return open_bills_of([unit_id]).get(unit_id, [])


# --- Payments and balances ---------------------------------------------------------------


def payment_not_reversed(payment=Payment):
    reversal = db.aliased(Payment)
    return ~select(reversal.id).where(reversal.reverses_id == payment.id).exists()


def unspent_fen(payment=Payment):
    """SQL: what of the payment is not allocated yet."""
    used = (
        select(func.coalesce(func.sum(Allocation.amount_fen), 0))
        .where(Allocation.payment_id == payment.id)
        .correlate(payment)
        .scalar_subquery()
    )
    return payment.amount_fen - used


def unspent_payments_of(unit_ids) -> dict[int, list[tuple[int, int]]]:
    """unit id → its live payments with something unallocated, oldest first (one query)."""
    left_fen = unspent_fen()
    found: dict[int, list] = {}
    for unit_id, payment_id, left in db.session.execute(
        select(Payment.unit_id, Payment.id, left_fen)
        .where(
            Payment.unit_id.in_(list(unit_ids)),
            Payment.amount_fen > 0,
            payment_not_reversed(),
            left_fen > 0,
        )
        .order_by(Payment.unit_id, Payment.id)
    ):
        found.setdefault(unit_id, []).append((payment_id, int(left)))
    return found


def unspent_payments(unit_id: int) -> list[tuple[int, int]]:
    """(payment id, fen not yet allocated) of the unit's live payments, oldest first."""
    return unspent_payments_of([unit_id]).get(unit_id, [])


def credit_fen(unit_id, as_of: date):
    """SQL: a unit's credit on a day — its payments by then less what of them was
    allocated by then (`unit_id` a column or value of the enclosing query)."""
    paid_in = (
        select(func.coalesce(func.sum(Payment.amount_fen), 0))
        .where(Payment.unit_id == unit_id, Payment.paid_on <= as_of)
        .scalar_subquery()
    )
    used = (
        select(func.coalesce(func.sum(Allocation.amount_fen), 0))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(Payment.unit_id == unit_id, Allocation.applied_on <= as_of)
        .scalar_subquery()
    )
    return paid_in - used


@dataclass
class Balance:
    owed_fen: int = 0
    credit_fen: int = 0


def past_due_column(today, unit=Unit):
    """SQL: what the unit of the enclosing query owes on bills due before `today` (a date or
    a bind parameter): arrears (欠费), as against what is only to pay (待缴) until its due
    date."""
    return (
        select(func.coalesce(func.sum(owed_fen()), 0))
        .where(Bill.unit_id == unit.id, not_reversed(), not_deposit(), Bill.due_on < today)
        .correlate(unit)
        .scalar_subquery()
        .label("past_due_fen")
    )


def balance_columns(unit=Unit):
    """SQL: what the unit of the enclosing query owes in fees (deposits are held money, not
    owed fees) and its credit, as two columns (four sums on indexed columns), so a page's
    unit query brings its balances along. What is paid on a deposit is spent (not credit)."""
    charged = (
        select(func.coalesce(func.sum(Bill.amount_fen), 0))
        .where(Bill.unit_id == unit.id, not_reversed(), not_deposit())
        .correlate(unit)
        .scalar_subquery()
    )
    # Allocations on withdrawn bills add up to zero, so all of a unit's bills may count.
    settled = (
        select(func.coalesce(func.sum(Allocation.amount_fen), 0))
        .join(Bill, Bill.id == Allocation.bill_id)
        .where(Bill.unit_id == unit.id, not_deposit())
        .correlate(unit)
        .scalar_subquery()
    )
    received = (
        select(func.coalesce(func.sum(Payment.amount_fen), 0))
        .where(Payment.unit_id == unit.id)
        .correlate(unit)
        .scalar_subquery()
    )
    spent = (
        select(func.coalesce(func.sum(Allocation.amount_fen), 0))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(Payment.unit_id == unit.id)
        .correlate(unit)
        .scalar_subquery()
    )
    return (charged - settled).label("owed_fen"), (received - spent).label("credit_fen")


def balances(unit_ids) -> dict[int, Balance]:
    """What each unit owes and its credit: one statement."""
    unit_ids = list(unit_ids)
    result = {unit_id: Balance() for unit_id in unit_ids}
    if not unit_ids:
        return result
    for unit_id, owed, credit in db.session.execute(
        select(Unit.id, *balance_columns()).where(Unit.id.in_(unit_ids))
    ):
        result[unit_id] = Balance(int(owed), int(credit))
    return result


def balance(unit_id: int) -> Balance:
    return balances([unit_id])[unit_id]
