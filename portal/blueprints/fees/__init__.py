"""Fees: fee items and rates, billing runs, payments, receipts, arrears and reminders."""

# Every new estate gets the standard fee items: rules listens for the estate's insert.
# A late occupancy change re-prices billed months: repricing registers its hook in core.
from . import repricing, rules  # noqa: F401
