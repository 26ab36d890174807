"""The rules of a move that an estate sets: the documents a move-in needs and the one-off
fees billed at its hand-over (settings, edited by an administrator)."""

from flask_babel import lazy_gettext as _l

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
