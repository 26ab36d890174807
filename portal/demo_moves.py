"""The demo's moves, keys and passes: each walked through the real services on the timeline
(portal/demo_timeline.py), so that the desk finds move-ins at every step and two handed over
(their keys, cards and first meter readings), a move-out held up by what the unit owes, keys
in the centre's cabinet (one set lent and overdue), and the gate's passes of today (one
already used, its check logged; a tenant's goods pass awaiting the owner).

Units are chosen in a stable order (by id) among those the import made, so the demo is the
same on every load; nobody here is a demo login, so the browser tests' records stay theirs.
"""

from datetime import datetime, timedelta

from sqlalchemy import select

from portal.blueprints.custody import services as custody
from portal.blueprints.custody.models import KeySet
from portal.blueprints.fees.ledger import balances
from portal.blueprints.moves import services as moves
from portal.blueprints.passes import services as passes
from portal.core import clock
from portal.core.people import Relation, Residency, User, current_residency_clause
from portal.core.places import Occupancy, Unit
from portal.extensions import db

OWNER_DOCUMENTS = ["id_card", "purchase_contract", "maintenance_fund", "deed_tax"]
# (days ago it was registered, local hour, the step it has reached, days until its day)
MOVE_INS = [
    (41, 9.5, "completed", 3),
    (19, 14.2, "completed", 2),
    (3, 10.4, "inspected", 1),
    (2, 15.1, "documents_checked", 4),
    (0, 9.2, "submitted", 6),
]
# Hours after registration of each later step (the hand-over is on the move's day).
STEPS = {"check-documents": 2, "inspect": 26}
# The households moving in: phones of a series the importer's residents never have (17…).
NEWCOMERS = [
    [("林晓东", "owner"), ("林思雨", "family")],
    [("郑海峰", "owner")],
    [("许文静", "owner"), ("高远", "family")],
    [("韩梅", "owner")],
    [("曹俊杰", "tenant")],
]
TENANT_DOCUMENTS = ["id_card", "lease"]
READINGS = [
    [("water", "3.20"), ("electricity", "15.60"), ("gas", "0.80")],
    [("water", "1.75"), ("electricity", "8.40"), ("gas", "0.35")],
]
# Keys the centre keeps for units nobody lives in: (days ago taken in, label, count, what
# happens next: None / "lent" (and overdue) / "lent_back" (lent, brought back)).
KEPT = [
    (60, "入户门钥匙", 3, None),
    (45, "入户门及信报箱钥匙", 4, "lent"),
    (30, "入户门钥匙", 2, "lent_back"),
]


def _at(timeline, days: float, hour: float, after: float = 0.0) -> datetime:
    """That local day and hour, early enough that `after` more hours are still past."""
    wanted = timeline.local(timeline.today() - timedelta(days=days), hour)
    return min(wanted, timeline.now - timedelta(hours=after + 0.5))


def _units(estate_id: int, occupancy: Occupancy, n: int, skip=()) -> list[int]:
    return list(
        db.session.scalars(
            select(Unit.id)
            .where(
                Unit.estate_id == estate_id,
                Unit.kind == "residence",
                Unit.occupancy == occupancy.value,
                Unit.id.not_in(list(skip) or [0]),
            )
            .order_by(Unit.id)
            .limit(n)
        )
    )


def _people(n: int) -> list[dict]:
    return [
        {"name": name, "phone": f"1770000{n:02d}{k:02d}", "relation": relation}
        for k, (name, relation) in enumerate(NEWCOMERS[n])
    ]


def schedule_moves(timeline, estate, staff: dict, skip_units=()) -> None:
    """Put the moves, the keys and today's passes on the timeline (`skip_units`: the demo
    logins' units, left to the browser tests)."""
    skip_units = set(skip_units)
    desk = staff["desk"]
    fresh = _units(estate.id, Occupancy.not_handed_over, len(MOVE_INS) + 1)
    vacant = _units(estate.id, Occupancy.vacant, 2, skip_units)
    for n, (days, hour, step, ahead) in enumerate(MOVE_INS):
        _schedule_move_in(timeline, n, fresh[n], days, hour, step, ahead, desk)
    kept_units = [fresh[len(MOVE_INS)], *vacant]
    for (days, label, count, then), unit_id in zip(KEPT, kept_units, strict=True):
        keys = {"unit_id": unit_id}
        start = _at(timeline, days, 10.5, after=2)
        timeline.at(start, _take_keys, keys, label, count, desk)
        if then:
            lent = _at(timeline, 4 if then == "lent" else days - 3, 14.0, after=1)
            timeline.at(lent, _lend_keys, keys, desk)
        if then == "lent_back":
            timeline.at(lent + timedelta(hours=20), _take_back_keys, keys, desk)
    timeline.at(
        _at(timeline, 0, 9.7, after=0.2),
        _blocked_move_out,
        estate.id,
        estate.timezone,
        desk,
        skip_units,
    )
    _schedule_passes(timeline, estate.id, desk, skip_units)


# ---- move-ins -----------------------------------------------------------------------------


def _schedule_move_in(timeline, n, unit_id, days, hour, step, ahead, desk) -> None:
    path = ["check-documents", "inspect", "hand-over"]
    path = path[: {"submitted": 0, "documents_checked": 1, "inspected": 2, "completed": 3}[step]]
    after = sum(STEPS.get(a, 0) for a in path)
    start = _at(timeline, days, hour, after=after)
    if step == "completed":
        handed = _at(timeline, days - ahead, 10.0, after=0)
        handed = max(handed, start + timedelta(hours=after + 1))
        on = handed.astimezone(timeline.tz).date()
    else:
        handed = None
        on = timeline.today() + timedelta(days=ahead)
    move = {"unit_id": unit_id, "n": n, "on": on}
    if n < 3:  # the owner left the keys with the centre at the hand-over by the developer
        timeline.at(start - timedelta(days=5), _keys_before_move_in, move, desk)
    timeline.at(start, _register_move_in, move, desk)
    moment = start
    for action in path:
        if action == "hand-over":
            moment = handed
        else:
            moment += timedelta(hours=STEPS[action])
        timeline.at(moment, _move_in_step, move, action, desk)


def _keys_before_move_in(move, desk) -> None:
    unit = db.session.get(Unit, move["unit_id"])
    custody.take_keys(unit, count=4, label="入户门钥匙（开发商移交）", actor=desk, name="开发商")


def _register_move_in(move, desk) -> None:
    move["record"] = moves.register_move_in(
        desk,
        unit_id=move["unit_id"],
        on=move["on"],
        people=_people(move["n"]),
        occupancy=Occupancy.occupied_unrenovated.value,
    )


def _move_in_step(move, action, desk) -> None:
    n = move["n"]
    if action == "check-documents":
        tenant = any(p["relation"] == "tenant" for p in _people(n))
        data = {"documents": TENANT_DOCUMENTS if tenant else OWNER_DOCUMENTS}
    elif action == "inspect":
        data = {"result": "ok"}  # defects would open repairs: the demo's repairs are its own
    else:
        data = {
            "keys": {"count": 4, "label": "入户门钥匙"},
            "cards": [
                {"number": f"MJ{8001 + 2 * n}", "kind": "access"},
                {"number": f"CW{6001 + n}", "kind": "parking"},
            ],
            "readings": [{"meter": m, "value": v} for m, v in READINGS[n]],
        }
    moves.act(move["record"], action, actor=desk, data=data)


# ---- the move-out held up by arrears ----------------------------------------------------------


def _blocked_move_out(estate_id: int, tz: str, desk, skip_units) -> None:
    """A household leaving today from a unit that owes: the desk registers the move-out;
    its checklist shows the arrears until they are paid."""
    homes = db.session.scalars(
        select(Residency.unit_id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(
            Unit.estate_id == estate_id,
            Unit.kind == "residence",
            Unit.occupancy == Occupancy.occupied_renovated.value,
            Unit.id.not_in(list(skip_units) or [0]),
            current_residency_clause(),
        )
        .order_by(Residency.unit_id)
        .distinct()
        .limit(400)
    ).all()
    owing = balances(homes)
    unit_id = next(u for u in homes if owing[u].owed_fen > 0)
    moves.register_move_out(desk, unit_id=unit_id, on=clock.local_today(tz))


# ---- keys in custody --------------------------------------------------------------------------


def _take_keys(keys, label, count, desk) -> None:
    unit = db.session.get(Unit, keys["unit_id"])
    keys["record"] = custody.take_keys(
        unit, count=count, label=label, actor=desk, name="业主委托", note="业主暂未入住"
    )


def _lend_keys(keys, desk) -> None:
    custody.lend_keys(
        keys["record"],
        name="张师傅（装修公司）",
        phone="17700009901",
        reason="量房设计",
        due_back_at=clock.now() + timedelta(days=1),
        actor=desk,
    )


def _take_back_keys(keys, desk) -> None:
    custody.take_back_keys(db.session.get(KeySet, keys["record"].id), actor=desk)


# ---- today's passes -----------------------------------------------------------------------------


def _schedule_passes(timeline, estate_id: int, desk, skip_units) -> None:
    tenant, tenant_unit = _a_tenant(estate_id, skip_units)
    visitor_host, host_unit = _a_household(estate_id, skip_units | {tenant_unit}, Relation.owner)
    goods_unit, used_unit = _units(
        estate_id, Occupancy.occupied_renovated, 2, skip_units | {tenant_unit, host_unit}
    )
    today = timeline.today()
    window = (timeline.local(today, 0), timeline.local(today + timedelta(days=1), 0))
    morning = _at(timeline, 0, 8.4, after=0.3)
    timeline.at(
        morning,
        _pass,
        "goods",
        goods_unit,
        desk,
        window,
        {"items": [{"name": "旧沙发", "quantity": 1}, {"name": "纸箱", "quantity": 6}]},
    )
    visitors = {"people": [{"name": "周阿姨", "phone": "17700009902"}], "plate": "沪A3K721"}
    timeline.at(morning, _pass, "visitor", host_unit, visitor_host, window, visitors)
    items = {"items": [{"name": "电动自行车", "quantity": 1}]}
    timeline.at(morning, _pass, "goods", tenant_unit, tenant, window, items)
    used = {"items": [{"name": "旧冰箱", "quantity": 1}], "plate": "沪B9Q205"}
    record: dict = {}
    early = (morning - timedelta(hours=1), window[1])
    timeline.at(morning, _pass, "goods", used_unit, desk, early, used, record)
    timeline.at(morning + timedelta(minutes=12), _check, record)


def _a_household(estate_id: int, skip, relation: Relation) -> tuple[User, int]:
    row = db.session.execute(
        select(User, Residency.unit_id)
        .join(Residency, Residency.user_id == User.id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(
            Unit.estate_id == estate_id,
            Unit.kind == "residence",
            Unit.id.not_in(list(skip) or [0]),
            Residency.relation == relation.value,
            User.username.is_(None),
            current_residency_clause(),
        )
        .order_by(Residency.unit_id, Residency.id)
        .limit(1)
    ).one()
    return row[0], row[1]


def _a_tenant(estate_id: int, skip) -> tuple[User, int]:
    """A tenant who lives with an owner on record (whose approval the pass waits for)."""
    owned = select(Residency.unit_id).where(
        Residency.relation == Relation.owner.value, current_residency_clause()
    )
    row = db.session.execute(
        select(User, Residency.unit_id)
        .join(Residency, Residency.user_id == User.id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(
            Unit.estate_id == estate_id,
            Unit.id.not_in(list(skip) or [0]),
            Unit.id.in_(owned),
            Residency.relation == Relation.tenant.value,
            User.username.is_(None),
            current_residency_clause(),
        )
        .order_by(Residency.unit_id, Residency.id)
        .limit(1)
    ).one()
    return row[0], row[1]


def _pass(kind, unit_id, actor, window, extra, record=None) -> None:
    made = passes.issue_pass(
        kind=kind,
        unit=db.session.get(Unit, unit_id),
        valid_from=window[0],
        valid_until=window[1],
        actor=actor,
        **extra,
    )
    if record is not None:
        record["pass"] = made


def _check(record) -> None:
    guard = db.session.scalar(select(User).where(User.username == "guard"))
    passes.check_pass(record["pass"].code, actor=guard)
