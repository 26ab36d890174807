"""Report periods in the estate's time zone: the one parser of ?from=&to=, the UTC bounds
of local days, and local months and times for grouping and spreadsheets."""

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from portal.core import clock
from portal.core.errors import ServiceError

MAX_DAYS = 366
_TZ_NAME = re.compile(r"^[A-Za-z0-9_+\-/]{1,64}$")


def check_period(date_from: date, date_to: date) -> None:
    """ServiceError (400) when the period ends before it starts or is longer than MAX_DAYS."""
    if date_from > date_to:
        raise ServiceError(
            _l("The period must not start after it ends."), fields={"from": "after_to"}
        )
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise ServiceError(
            _l("A report covers at most %(days)s days.", days=MAX_DAYS),
            fields={"to": "range_too_long"},
        )


def period_bounds(date_from: date, date_to: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of the local days `date_from` … `date_to` inclusive in
    time zone `tz`; the 400s of `check_period`."""
    check_period(date_from, date_to)
    zone = ZoneInfo(tz)
    try:
        start = datetime.combine(date_from, time.min, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    except OverflowError:
        raise ServiceError(
            _l("The dates are out of range."), fields={"from": "out_of_range"}
        ) from None
    return start, end.astimezone(UTC)


DEFAULTS = {
    # name → (first day, last day) from today
    "month": lambda t: (t.replace(day=1), t.replace(day=calendar.monthrange(t.year, t.month)[1])),
    "month_to_date": lambda t: (t.replace(day=1), t),
    "last_30_days": lambda t: (t - timedelta(days=29), t),
}


def requested_period(estate, default: str = "month") -> tuple[date, date]:
    """?from=&to= of a report page (each defaulting by `default`, counted from today in the
    estate's time zone), or 400 for a date that is no date or a period that is not one."""
    today = clock.local_today(estate.timezone)
    first, last = DEFAULTS[default](today)
    try:
        start = date.fromisoformat(request.args.get("from") or first.isoformat())
        end = date.fromisoformat(request.args.get("to") or last.isoformat())
        check_period(start, end)
    except (ValueError, ServiceError):
        abort(400)
    return start, end


def requested_day(estate) -> date:
    """?day= (default: today in the estate's time zone), or 400."""
    raw = request.args.get("day", "")
    try:
        return date.fromisoformat(raw) if raw else clock.local_today(estate.timezone)
    except ValueError:
        abort(400)


def local_naive(moment: datetime | None, tz: str) -> datetime | None:
    """A stored UTC time as the estate's wall-clock time, without a zone (for .xlsx cells)."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def local_time(moment: datetime | None, tz: str, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored UTC time as the estate's wall-clock time, in the request's language."""
    if moment is None:
        return ""
    from babel.dates import format_datetime
    from flask_babel import get_locale

    return format_datetime(moment, fmt, tzinfo=ZoneInfo(tz), locale=get_locale())


class local_month(FunctionElement):
    """'YYYY-MM' of a stored UTC timestamp in time zone `tz` (SQL)."""

    type = String()
    name = "local_month"
    inherit_cache = False

    def __init__(self, column, tz: str, at: datetime | None = None):
        if not _TZ_NAME.match(tz):
            raise ValueError(f"not a time zone name: {tz!r}")
        ZoneInfo(tz)  # a name the system knows
        self.tz = tz
        # SQLite has no zone rules: it uses the zone's offset at `at` (the period's start).
        offset = ZoneInfo(tz).utcoffset(at or clock.now())
        self.offset_minutes = int(offset.total_seconds() // 60)
        super().__init__(column)


@compiles(local_month)
def _local_month_pg(element, compiler, **kw):
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"to_char(({column}) AT TIME ZONE 'UTC' AT TIME ZONE '{element.tz}', 'YYYY-MM')"


@compiles(local_month, "sqlite")
def _local_month_sqlite(element, compiler, **kw):
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"strftime('%Y-%m', {column}, '{element.offset_minutes:+d} minutes')"
