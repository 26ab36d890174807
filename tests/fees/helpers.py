"""Shared set-up for fee tests: items with rates, bills and payments in a test world."""

from datetime import date

from portal.blueprints.fees import ledger
from portal.blueprints.fees.rules import create_standard_items, item_by_code
from portal.extensions import db


def standard_items(world, effective_on=date(2024, 1, 1)):
    """The standard fee items of the world's estate (property fee 2.50 per m²)."""
    create_standard_items(world.estate.id, actor=world.manager, effective_on=effective_on)
    db.session.flush()
    return {
        code: item_by_code(world.estate.id, code)
        for code in ("property_residence", "parking", "debris", "paid_service")
    }


def bill(world, unit, fen, *, key, due_on=date(2026, 10, 15), item="debris"):
    items = standard_items(world)
    return ledger.issue_bill(
        unit,
        items[item],
        amount_fen=fen,
        due_on=due_on,
        source="manual",
        source_key=key,
        actor=world.frontdesk,
    )


def pay(world, unit, fen, method="cash", key=None):
    payment, _ = ledger.record_payment(
        unit, fen, method, actor=world.frontdesk, source="counter", idempotency_key=key
    )
    return payment
