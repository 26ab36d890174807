"""Fees: fee items and rates, billing runs, payments, receipts, arrears and reminders."""
