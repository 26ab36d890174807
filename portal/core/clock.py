"""The portal's notion of now: always UTC, and controllable in tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


def now() -> datetime:
    """The current time as an aware UTC datetime."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def local_today(tz: str = "Asia/Shanghai") -> date:
    """Today's date in an estate's time zone."""
    return now().astimezone(ZoneInfo(tz)).date()


def freeze(moment: datetime | None) -> None:
    """Fix now() at `moment` (tests only); None lets the clock run again."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = moment.astimezone(UTC) if moment is not None else None


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run a block with now() at `moment` (the demo plays its history this way); afterwards
    the clock is as it was: running, or a test's frozen moment."""
    before = _frozen
    freeze(moment)
    try:
        yield
    finally:
        freeze(before)
