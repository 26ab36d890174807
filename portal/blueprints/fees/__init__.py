"""Fees: fee items and rates, billing runs, payments, receipts, arrears and reminders."""

# Every new estate gets the standard fee items: rules listens for the estate's insert.
from . import rules  # noqa: F401
