"""Rest hours (休息时间): the night hours when residents are not called, texted or visited.

One setting per estate, `notify.quiet_hours` (22:00–08:00 by default; the key keeps the name it
had when only notices used it): non-urgent SMS and e-mail wait until it ends (notify/), and a
return visit never falls due inside it (core/visits.py).
"""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from portal.core import settings
from portal.core.errors import ServiceError

_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def parse_range(text: str) -> tuple[time, time]:
    """Two times from 'HH:MM-HH:MM', or ServiceError."""
    match = _RANGE.match((text or "").strip())
    if not match:
        raise ServiceError(_l("Write quiet hours like 22:00-08:00."), fields={"value": "format"})
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    return time(h1, m1), time(h2, m2)


QUIET_HOURS = settings.declare(
    "notify.quiet_hours",
    _l("Rest hours: no SMS, e-mail or return visit due"),
    str,
    "22:00-08:00",
    help=_l("HH:MM-HH:MM in estate time; non-urgent messages wait until it ends."),
    validate=parse_range,
)


def window(estate_id=None) -> tuple[time, time]:
    """An estate's rest hours as (start, end)."""
    return parse_range(settings.get("notify.quiet_hours", estate_id))


def release_time(
    moment: datetime, *, estate_id=None, tz="Asia/Shanghai", hours=None
) -> datetime | None:
    """When a message (or a visit) due at `moment` may be, if `moment` falls in rest hours.

    `hours` is the estate's window when the caller already has it.
    """
    start, end = hours or window(estate_id)
    if start == end:
        return None
    local = moment.astimezone(ZoneInfo(tz))
    now_t = local.time()
    inside = start <= now_t < end if start < end else (now_t >= start or now_t < end)
    if not inside:
        return None
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release.astimezone(moment.tzinfo)
