"""The demo's renovations (装修): each walked through the line's own services on the
timeline (portal/demo_timeline.py), so that the engineers and the supervisor find one at
every step — an application awaiting the review, one reviewed awaiting approval, one sent
back to amend, works under way with a violation being rectified, works awaiting the
hidden-works acceptance (隐蔽工程验收), works suspended, and works accepted whose deposit,
paid at the counter, was refunded less a deduction.

Units are chosen in a stable order among those the import made (occupied, not yet
renovated), skipping the demo logins' units, so the demo is the same on every load and
the browser tests' records stay theirs; demo_moves uses none of these units.
"""

from datetime import timedelta

from sqlalchemy import select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Bill
from portal.blueprints.renovation import services as renovations
from portal.blueprints.renovation.rules import ID_CHECK, ID_WEIGHTS
from portal.core import clock, workflow
from portal.core.places import Occupancy, Unit
from portal.extensions import db

# (days ago registered, contractor, foreman, the steps after it: (days ago, action, data))
REVIEW = {"notes": "图纸齐全，水电走向清楚，同意施工。"}
SCENARIOS = [
    ("明居装饰工程有限公司", "孙工长", 1, []),
    ("明居装饰工程有限公司", "孙工长", 4, [(2, "review", REVIEW)]),
    (
        "锦程家装有限公司",
        "吴工长",
        5,
        [(3, "send-back", {"reason": "图纸缺少卫生间防水做法，请补充后重新提交。"})],
    ),
    (
        "锦程家装有限公司",
        "吴工长",
        30,
        [
            (29, "review", REVIEW),
            (28, "approve", None),
            (-1, "pay", None),
            (15, "inspect", {"result": "ok", "note": "现场整洁，按图施工。"}),
            (9, "violation", ("拆改承重墙", 3, "发现拆除承重墙迹象，已责令停止并恢复。")),
            (7, "rectify", {"note": "已恢复原墙体，复查合格。"}),
            (2, "violation", ("施工超时", 4, "午休时间电钻施工，邻居投诉。")),
        ],
    ),
    (
        "明居装饰工程有限公司",
        "孙工长",
        14,
        [
            (13, "review", REVIEW),
            (12, "approve", None),
            (-1, "pay", None),
            (4, "inspect", {"result": "ok", "note": "水电管线已敷设，待隐蔽工程验收。"}),
        ],
    ),
    (
        "安家装修工作室",
        "郑工长",
        26,
        [
            (25, "review", REVIEW),
            (24, "approve", None),
            (3, "suspend", {"reason": "未按规定清运建筑垃圾，整改前暂停施工。"}),
        ],
    ),
    (
        "锦程家装有限公司",
        "吴工长",
        60,
        [
            (59, "review", REVIEW),
            (58, "approve", None),
            (-1, "pay", None),
            (40, "inspect", {"result": "ok", "note": "按图施工。"}),
            (30, "hidden-works", {"passed": True, "note": "水电管线规范，48小时闭水试验无渗漏。"}),
            (
                10,
                "accept",
                {
                    "passed": True,
                    "note": "竣工验收合格。",
                    "deductions": [{"reason": "楼道建筑垃圾未清运", "amount": "200.00"}],
                    "refund_method": "transfer",
                },
            ),
        ],
    ),
]


def _id_number(body17: str) -> str:
    """A resident ID number with its right check character."""
    total = sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True))
    return body17 + ID_CHECK[total % 11]


WORKERS = [
    {"name": "刘师傅", "id_number": _id_number("11010519780312451"), "phone": "17700008801"},
    {"name": "陈师傅", "id_number": _id_number("32010219850615123"), "phone": "17700008802"},
]


def _units(estate_id: int, n: int, skip) -> list[int]:
    return list(
        db.session.scalars(
            select(Unit.id)
            .where(
                Unit.estate_id == estate_id,
                Unit.kind == "residence",
                Unit.occupancy == Occupancy.occupied_unrenovated.value,
                Unit.id.not_in(list(skip) or [0]),
            )
            .order_by(Unit.id.desc())
            .limit(n)
        )
    )


def schedule_renovations(timeline, estate, staff: dict, skip_units=()) -> None:
    """Put the renovations on the timeline (`skip_units`: the demo logins' units)."""
    units = _units(estate.id, len(SCENARIOS), set(skip_units))
    today = timeline.today()
    for (contractor, foreman, days, steps), unit_id in zip(SCENARIOS, units, strict=True):
        record = {"unit_id": unit_id}
        registered = timeline.local(today - timedelta(days=days), 9.5)
        starts_on = today - timedelta(days=days - 2)
        ends_on = starts_on + timedelta(days=50)
        timeline.at(
            registered, _register, record, contractor, foreman, starts_on, ends_on, staff["desk"]
        )
        moment = registered
        for n, (ago, action, data) in enumerate(steps):
            if ago < 0:  # the deposit paid at the counter an hour after the approval
                moment = moment + timedelta(hours=1)
            else:
                moment = timeline.local(today - timedelta(days=ago), 10 + n * 0.1)
            actor = staff["sup"] if action in ("approve", "suspend") else staff["tech"]
            if action == "pay":
                actor = staff["desk"]
            if not timeline.at(min(moment, timeline.now), _step, record, action, data, actor):
                break


def _register(record, contractor, foreman, starts_on, ends_on, desk) -> None:
    record["renovation"] = renovations.submit_renovation(
        desk,
        unit_id=record["unit_id"],
        contractor=contractor,
        contractor_licence="JZ-2026-0" + str(100 + record["unit_id"] % 900),
        foreman=foreman,
        foreman_phone="17700008800",
        starts_on=starts_on,
        ends_on=ends_on,
        scope=["plumbing_electrical", "walls", "waterproofing"],
        workers=WORKERS,
    )


def _step(record, action, data, actor) -> None:
    renovation = record["renovation"]
    if action == "pay":
        bill = db.session.get(Bill, renovation.approval["bills"]["deposit"])
        ledger.record_payment(
            db.session.get(Unit, renovation.unit_id),
            bill.amount_fen,
            "cash",
            actor=actor,
            source="counter",
            bill_ids=[bill.id],
        )
        return
    if action == "violation":
        kind, days, note = data
        today = clock.local_today()
        data = {
            "result": "violation",
            "violation_type": kind,
            "rectify_by": (today + timedelta(days=days)).isoformat(),
            "note": note,
        }
        action = "inspect"
    workflow.apply(renovation, action, actor=actor, data=dict(data) if data else None)
