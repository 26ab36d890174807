"""Report periods and months are the estate's (Estate.timezone), not a fixed zone."""

from datetime import UTC, date, datetime

from portal.blueprints.complaints.services import register_complaint
from portal.blueprints.reports.complaints import statistics
from portal.blueprints.reports.periods import period_bounds
from portal.core import clock
from portal.extensions import db


def test_periods_are_local_days_of_the_estate():
    start, end = period_bounds(date(2026, 12, 1), date(2026, 12, 1), "Asia/Shanghai")
    assert (start, end) == (
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
    )
    start, _end = period_bounds(date(2026, 7, 1), date(2026, 7, 1), "Europe/London")
    assert start == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)  # summer time


def test_complaint_months_follow_the_estates_time_zone(world):
    # 17:00 UTC on 30 November: already 1 December in Shanghai, still November in London.
    clock.freeze(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    register_complaint(world.resident, category="fees", content="账单疑问")
    db.session.flush()
    autumn = (date(2026, 11, 1), date(2026, 12, 31))

    def months():
        return [row["key"] for row in statistics(world.manager, world.estate, *autumn)["by_month"]]

    assert months() == ["2026-12"]
    first_of_december = statistics(
        world.manager, world.estate, date(2026, 12, 1), date(2026, 12, 1)
    )
    assert first_of_december["by_category"]
    world.estate.timezone = "Europe/London"
    db.session.flush()
    assert months() == ["2026-11"]
    first_of_december = statistics(
        world.manager, world.estate, date(2026, 12, 1), date(2026, 12, 1)
    )
    assert first_of_december["by_category"] == []
