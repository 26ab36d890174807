"""Fee rules as data: declared settings, the standard fee items, and rate lookup."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, insert, select
from sqlalchemy.orm import selectinload

from portal.core import audit, clock, settings
from portal.core.errors import Conflict, ServiceError
from portal.core.places import Estate, Occupancy, UnitKind
from portal.extensions import db

from .models import Basis, FeeItem, FeeRate


def _occupancy_list(raw: str) -> None:
    codes = [c.strip() for c in raw.split(",") if c.strip()]
    unknown = [c for c in codes if c not in Occupancy.__members__]
    if unknown:
        raise ServiceError(
            _l("Unknown occupancy categories: %(codes)s.", codes=", ".join(unknown)),
            fields={"value": "unknown"},
        )


VACANT_PAY_PERCENT = settings.declare(
    "fees.vacant_pay_percent",
    _l("Share of the fee that vacant units pay (%)"),
    int,
    50,
    minimum=0,
    maximum=100,
    help=_l("未入住 units pay this share of recurring fees; the rest is a recorded discount."),
)
VACANT_OCCUPANCIES = settings.declare(
    "fees.vacant_occupancies",
    _l("Occupancy categories that count as vacant for fees"),
    str,
    "vacant",
    help=_l("Comma-separated codes, e.g. vacant,renovated_vacant."),
    validate=_occupancy_list,
)
DUE_DAYS = settings.declare(
    "fees.due_days",
    _l("Days after the start of a billed month until the bill is due"),
    int,
    15,
    minimum=0,
    maximum=90,
)
PREPAY_FREE_MONTHS = settings.declare(
    "fees.prepay_free_months",
    _l("Months free when a full year is paid in advance"),
    int,
    2,
    minimum=0,
    maximum=11,
)
PREPAY_WINDOW_MONTHS = settings.declare(
    "fees.prepay_window_months",
    _l("The advance-payment offer opens this many months before the paid-up month ends"),
    int,
    2,
    minimum=0,
    maximum=12,
)
ORDER_MINUTES = settings.declare(
    "fees.online_order_minutes",
    _l("Minutes an online payment may take before it expires"),
    int,
    15,
    minimum=1,
    maximum=1440,
)

# Units not yet handed over are the developer's; they are not billed.
NOT_BILLED = frozenset({Occupancy.not_handed_over})


def vacant_occupancies(estate_id: int) -> frozenset[str]:
    raw = settings.get(VACANT_OCCUPANCIES.key, estate_id) or ""
    return frozenset(c.strip() for c in raw.split(",") if c.strip())


# The items every estate has from its creation (code, name, basis, unit kind, rate in fen).
STANDARD_ITEMS = (
    ("property_residence", "物业管理费（住宅）", Basis.per_m2_month, UnitKind.residence, 250),
    ("property_shop", "物业管理费（商铺）", Basis.per_m2_month, UnitKind.shop, 500),
    ("parking", "车位管理费", Basis.fixed_month, UnitKind.parking, 8000),
    ("storage", "储藏间管理费", Basis.per_m2_month, UnitKind.storage, 100),
    ("debris", "装修垃圾清运费", Basis.one_off, None, 30000),
    ("renovation_deposit", "装修押金", Basis.one_off, None, 200000),
    ("paid_service", "有偿服务费", Basis.per_use, None, 0),
)
PAID_SERVICE = "paid_service"
# The standard rates hold from long before any estate's own: a dated rate the estate adds
# or imports (a `fee_items` file) takes over from its own date, also for past months.
STANDARD_RATES_FROM = date(2000, 1, 1)


@event.listens_for(Estate, "after_insert")
def _standard_items_of_a_new_estate(_mapper, connection, estate):
    """Every estate has the standard items from the moment it exists, however it is made
    (the units import, the demo, a test's factory): core creates estates, fees lists what
    an estate charges, so fees listens for the new row instead of core calling fees."""
    insert_standard_items(connection, estate.id)


def insert_standard_items(connection, estate_id: int) -> None:
    """The standard items with their usual rates, in the flush that inserts the estate."""
    now = clock.now()
    for code, name, basis, kind, rate in STANDARD_ITEMS:
        item_id = connection.execute(
            insert(FeeItem.__table__).values(
                estate_id=estate_id,
                code=code,
                name=name,
                basis=basis.value,
                unit_kind=kind.value if kind else None,
                active=True,
                created_at=now,
            )
        ).inserted_primary_key[0]
        connection.execute(
            insert(FeeRate.__table__).values(
                fee_item_id=item_id,
                occupancy=None,
                effective_on=STANDARD_RATES_FROM,
                rate_fen=rate,
                created_at=now,
            )
        )


def create_standard_items(estate_id: int, *, actor, effective_on: date) -> list[FeeItem]:
    """Create the standard items (with their usual rates) that the estate lacks: none for an
    estate made since they come with it; kept for databases older than that."""
    have = set(db.session.scalars(select(FeeItem.code).where(FeeItem.estate_id == estate_id)))
    made = []
    for code, name, basis, kind, rate in STANDARD_ITEMS:
        if code in have:
            continue
        item = FeeItem(
            estate_id=estate_id, code=code, name=name, basis=basis, unit_kind=kind, active=True
        )
        db.session.add(item)
        db.session.flush()
        db.session.add(
            FeeRate(
                fee_item_id=item.id,
                occupancy=None,
                effective_on=effective_on,
                rate_fen=rate,
                created_by_id=actor.id if actor else None,
            )
        )
        made.append(item)
    db.session.flush()
    for item in made:
        audit.record(
            "fee_item.create", item, actor=actor, estate_id=estate_id, after={"code": item.code}
        )
    return made


def item_by_code(estate_id: int, code: str) -> FeeItem | None:
    return db.session.scalar(
        select(FeeItem).where(FeeItem.estate_id == estate_id, FeeItem.code == code)
    )


def create_item(
    estate_id: int,
    *,
    code: str,
    name: str,
    basis: str,
    unit_kind,
    rate_fen: int,
    effective_on,
    actor,
) -> FeeItem:
    """A new fee item of the estate with its first rate (for every category)."""
    code = code.strip()
    if item_by_code(estate_id, code):
        raise ServiceError(_l("An item with this code exists."), fields={"code": "taken"})
    item = FeeItem(
        estate_id=estate_id, code=code, name=name.strip(), basis=basis, unit_kind=unit_kind or None
    )
    db.session.add(item)
    db.session.flush()
    add_rate(item, rate_fen=rate_fen, effective_on=effective_on, occupancy=None, actor=actor)
    return item


def items_of(estate_id: int) -> list[FeeItem]:
    """The estate's fee items with their rates, in the order they were made."""
    return list(
        db.session.scalars(
            select(FeeItem)
            .where(FeeItem.estate_id == estate_id)
            .options(selectinload(FeeItem.rates))
            .order_by(FeeItem.id)
        )
    )


def add_rate(item: FeeItem, *, rate_fen: int, effective_on: date, occupancy: str | None, actor):
    """A new rate from a date; rates are never edited, a change is a new row."""
    if occupancy and occupancy not in Occupancy.__members__:
        raise ServiceError(_l("Unknown occupancy category."), fields={"occupancy": "unknown"})
    duplicate = db.session.scalar(
        select(FeeRate.id).where(
            FeeRate.fee_item_id == item.id,
            FeeRate.effective_on == effective_on,
            FeeRate.occupancy.is_(None) if not occupancy else FeeRate.occupancy == occupancy,
        )
    )
    if duplicate:
        raise Conflict(
            _l("This item already has a rate from that date for that category."),
            fields={"effective_on": "taken"},
        )
    rate = FeeRate(
        fee_item_id=item.id,
        occupancy=occupancy or None,
        effective_on=effective_on,
        rate_fen=rate_fen,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(rate)
    db.session.flush()
    audit.record(
        "fee_rate.create",
        item,
        actor=actor,
        estate_id=item.estate_id,
        after={
            "rate_fen": rate_fen,
            "effective_on": effective_on.isoformat(),
            "occupancy": occupancy,
        },
    )
    return rate


class Rates:
    """The rates in force on a day for a set of items: most specific category first."""

    def __init__(self, item_ids, on: date):
        self.on = on
        self.by_key: dict[tuple[int, str | None], int] = {}
        rows = db.session.execute(
            select(FeeRate.fee_item_id, FeeRate.occupancy, FeeRate.rate_fen)
            .where(FeeRate.fee_item_id.in_(list(item_ids)), FeeRate.effective_on <= on)
            .order_by(FeeRate.effective_on, FeeRate.id)
        ).all()
        for item_id, occupancy, rate in rows:  # later rows win
            self.by_key[(item_id, occupancy)] = rate

    def rate(self, item_id: int, occupancy: str) -> int | None:
        found = self.by_key.get((item_id, occupancy))
        return found if found is not None else self.by_key.get((item_id, None))
