"""API: a unit's access and parking cards (contracts §8), on the same services as the desk's
pages (portal.blueprints.custody.services). Another resident's unit answers 404."""

from datetime import date
from typing import Literal

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, ConfigDict

from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.spec import parse, route
from portal.blueprints.custody import services
from portal.blueprints.custody.models import Card
from portal.core import clock
from portal.core.access import DESK, EVERYONE, RESIDENTS, get_or_404
from portal.core.errors import ServiceError
from portal.core.places import Unit
from portal.extensions import db


class CardOut(BaseModel):
    number: str
    kind: Literal["access", "parking"]
    status: Literal["issued", "returned", "lost"]
    issued_on: date


class CardList(BaseModel):
    """Every card the unit was issued: the live ones first, then the newest."""

    items: list[CardOut]


class LostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date | None = None


def card_out(card: Card) -> CardOut:
    return CardOut(number=card.number, kind=card.kind, status=card.status, issued_on=card.issued_on)


@route(
    bp,
    "/units/<int:unit_id>/cards",
    summary="A unit's access and parking cards: issued, returned, lost",
    response=CardList,
    roles=EVERYONE,
    errors=(404,),
    tags=("units",),
)
def unit_cards(unit_id):
    """The unit's cards, for its residents and staff who may see the unit."""
    unit = get_or_404(Unit, unit_id)
    return CardList(items=[card_out(c) for c in services.cards_of(unit.id)])


@route(
    bp,
    "/units/<int:unit_id>/cards/<number>/lost",
    method="POST",
    summary="Report one of the unit's live cards lost (its residents or the desk);"
    ' optional body {"on": "YYYY-MM-DD"} (default today)',
    response=CardOut,
    roles=DESK | RESIDENTS,
    errors=(400, 404, 409),
    tags=("units",),
)
def report_card_lost(unit_id, number):
    """The card stops being live on `on` (default today); a card not live → 409. The unit
    and the card are found first, so another's unit is 404 whatever the body."""
    unit = get_or_404(Unit, unit_id)
    card = services.find_card(unit.id, number)
    if card is None:
        raise ServiceError(
            _l("No such card in this unit."), fields={"number": "unknown"}, status=404
        )
    data = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(data, dict):
        raise ServiceError(_l("Send a JSON object."), fields={"body": "not a JSON object"})
    body = parse(LostIn, data)
    services.report_lost(card, body.on or clock.local_today(), actor=current_user)
    db.session.commit()
    return card_out(card)
