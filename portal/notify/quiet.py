"""Quiet hours: non-urgent SMS and e-mail wait until the morning (estate time).

The hours themselves are the estate's rest hours (core/rest_hours.py), which return visits
respect too.
"""

from portal.core.rest_hours import QUIET_HOURS, parse_range, release_time, window

__all__ = ["HELD_CHANNELS", "QUIET_HOURS", "parse_range", "release_time", "window"]

HELD_CHANNELS = frozenset({"sms", "email"})
