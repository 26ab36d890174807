"""The rules of a move that an estate sets: the documents a move-in needs, the one-off
fees billed at its hand-over and the meters whose use a move-out bills (settings, edited by
an administrator)."""

from flask_babel import lazy_gettext as _l

from portal.blueprints.custody.models import Meter
from portal.blueprints.moves.models import Document, MoveIn
from portal.core import settings
from portal.core.errors import ServiceError


def _document_list(raw: str) -> None:
    codes = [c.strip() for c in raw.split(",") if c.strip()]
    unknown = [c for c in codes if c not in Document.__members__]
    if unknown or not codes:
        raise ServiceError(
            _l("Unknown document codes: %(codes)s.", codes=", ".join(unknown) or "—"),
            fields={"value": "unknown"},
        )


OWNER_DOCUMENTS = settings.declare(
    "moves.documents_owner",
    _l("Move-in: documents an owner brings"),
    str,
    "id_card,purchase_contract,maintenance_fund,deed_tax",
    help=_l(
        "Comma-separated codes: id_card, purchase_contract, maintenance_fund, deed_tax, lease."
    ),
    validate=_document_list,
)
TENANT_DOCUMENTS = settings.declare(
    "moves.documents_tenant",
    _l("Move-in: documents a tenant brings"),
    str,
    "id_card,lease",
    help=_l(
        "Comma-separated codes: id_card, purchase_contract, maintenance_fund, deed_tax, lease."
    ),
    validate=_document_list,
)
MOVE_IN_FEES = settings.declare(
    "moves.move_in_fee_items",
    _l("Move-in: one-off fee items billed at the hand-over"),
    str,
    "-",
    help=_l("Comma-separated fee item codes of the estate (one-off items); - for none."),
)


def _meter_list(raw: str) -> None:
    codes = [c.strip() for c in raw.split(",") if c.strip() and c.strip() != "-"]
    unknown = [c for c in codes if c not in Meter.__members__]
    if unknown:
        raise ServiceError(
            _l("Unknown meters: %(codes)s.", codes=", ".join(unknown)),
            fields={"value": "unknown"},
        )


UTILITIES_BILLED = settings.declare(
    "moves.utilities_billed",
    _l("Move-out: meters whose use is billed at the completion"),
    str,
    "-",
    help=_l(
        "Comma-separated meters the estate passes through: water, electricity, gas; - for"
        " none. Each needs a one-off fee item with the meter's code whose rate is the price"
        " of one unit (m³ or kWh) in fen."
    ),
    validate=_meter_list,
)


def _codes(key: str, estate_id: int) -> list[str]:
    raw = settings.get(key, estate_id) or ""
    return [c.strip() for c in raw.split(",") if c.strip() and c.strip() != "-"]


def required_documents(move: MoveIn) -> list[str]:
    """The documents a move-in needs, from its people's relations and the settings: an
    owner's papers when an owner moves in, a tenant's (the lease) when a tenant does."""
    relations = {p.get("relation") for p in move.people or []}
    needed: list[str] = []
    if "owner" in relations or not relations - {"family"}:
        needed += _codes(OWNER_DOCUMENTS.key, move.estate_id)
    if "tenant" in relations:
        needed += _codes(TENANT_DOCUMENTS.key, move.estate_id)
    return list(dict.fromkeys(needed))


def move_in_fee_codes(estate_id: int) -> list[str]:
    return _codes(MOVE_IN_FEES.key, estate_id)


def utilities_billed(estate_id: int) -> list[str]:
    """The meters whose use since their last reading a move-out bills (none by default)."""
    codes = _codes(UTILITIES_BILLED.key, estate_id)
    return list(dict.fromkeys(c for c in codes if c in Meter.__members__))
