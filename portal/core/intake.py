"""How any ticket is taken in: through which channel, for which unit, from whom.

A resident files online for one of their current units; staff register for a caller, a
walk-in or a patrol finding, for a unit of their estate (or none: a common area), on behalf
of a current resident of that unit or themselves (a common area: themselves only). Repairs,
complaints and the kinds after them use this one rule.
"""

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core.access import STAFF, visible
from portal.core.errors import NotAllowed, ServiceError
from portal.core.people import Residency, User, current_residency_clause
from portal.core.places import Unit
from portal.extensions import db


class Source(StrEnum):
    """How a request reached the centre."""

    online = "online"
    phone = "phone"
    walk_in = "walk_in"
    patrol = "patrol"


SOURCE_LABELS = {
    Source.online: _l("Online"),
    Source.phone: _l("Phone call"),
    Source.walk_in: _l("Walk-in"),
    Source.patrol: _l("Found on patrol"),
}


@dataclass
class Intake:
    channel: Source
    estate_id: int
    unit_id: int | None
    reporter: User


def take_in(actor, *, unit_id=None, channel=None, reporter_id=None) -> Intake:
    """Resolve channel, estate, unit and reporter of a new ticket, or raise ServiceError."""
    if not actor.is_staff:
        if unit_id is None and len(actor.current_unit_ids) == 1:
            unit_id = actor.current_unit_ids[0]
        if unit_id not in actor.current_unit_ids:
            raise ServiceError(_l("Choose one of your units."), fields={"unit_id": "unknown"})
        return Intake(Source.online, actor.estate_id, unit_id, actor)
    if actor.role not in STAFF:
        raise NotAllowed(_l("Your role may not do this."))
    try:
        channel = Source(channel or Source.phone)
    except ValueError:
        raise ServiceError(_l("Unknown channel."), fields={"channel": "unknown"}) from None
    unit = None
    if unit_id is not None:
        unit = db.session.scalar(select(Unit).where(Unit.id == unit_id, visible(Unit, actor)))
        if unit is None:
            raise ServiceError(_l("No such unit in your estate."), fields={"unit_id": "unknown"})
    estate_id = unit.estate_id if unit else actor.estate_id
    if estate_id is None:
        raise ServiceError(
            _l("Name the unit, or sign in as staff of an estate."), fields={"unit_id": "required"}
        )
    return Intake(channel, estate_id, unit_id, _reporter(actor, reporter_id, unit_id))


def _reporter(actor, reporter_id, unit_id) -> User:
    """The actor, or a current resident of the ticket's unit; anyone else answers 404 (the
    notices go to the reporter, so naming a stranger must reveal and reach no one)."""
    if not reporter_id or reporter_id == actor.id:
        return actor
    reporter = None
    if unit_id is not None and isinstance(reporter_id, int):
        reporter = db.session.scalar(
            select(User)
            .join(Residency, Residency.user_id == User.id)
            .where(User.id == reporter_id, Residency.unit_id == unit_id, current_residency_clause())
            .limit(1)
        )
    if reporter is None:
        raise ServiceError(
            _l("The reporter must be you or a current resident of the unit."),
            fields={"reporter_id": "unknown"},
            status=404,
        )
    return reporter
