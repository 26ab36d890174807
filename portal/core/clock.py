"""The portal's notion of now: always UTC, and controllable in tests."""

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
