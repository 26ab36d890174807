"""What every ticket resource of the API shares: its history as events, posted action data."""

from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.blueprints.api import schemas as s
from portal.core import workflow
from portal.core.errors import ServiceError
from portal.core.people import User
from portal.extensions import db


def user_ref(user):
    """A person as the API names them (or None)."""
    return s.UserRef(id=user.id, name=user.name, role=user.role.value) if user else None


def events_out(ticket) -> list[s.EventOut]:
    """A ticket's events (contracts §5: action, from, to, actor, at, data), in two queries."""
    events = workflow.history(ticket)
    actors = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({e.actor_id for e in events if e.actor_id}))
        )
    }
    return [
        s.EventOut(
            action=e.action,
            **{"from": e.from_state},
            to=e.to_state,
            actor=user_ref(actors.get(e.actor_id)),
            at=e.at,
            data=e.data or {},
        )
        for e in events
    ]


def action_data() -> dict:
    """The JSON object posted with an action (none is an empty object)."""
    data = request.get_json(silent=True)
    if data is not None and not isinstance(data, dict):
        raise ServiceError(_l("Send a JSON object."), fields={"body": "not a JSON object"})
    return data or {}
