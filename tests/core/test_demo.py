"""The demo estate looks like a working estate on any day: tickets in every state of their
workflows (some overdue, some awaiting a return visit, some closed with ratings), notices sent
and read, bills of three months with some arrears, and payments spread over those months by
several cashiers, a day's cash report a page or two. Loaded once per backend at FROZEN_AT."""

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal.blueprints.complaints.models import Complaint
from portal.blueprints.complaints.models import State as ComplaintState
from portal.blueprints.fees.ledger import balances
from portal.blueprints.fees.models import Bill, Payment
from portal.blueprints.repairs.models import OPEN_STATES, Repair
from portal.blueprints.repairs.models import State as RepairState
from portal.core import clock
from portal.core.accounts import authenticate
from portal.core.people import Residency, User
from portal.core.places import Estate, Unit
from portal.core.visits import ReturnVisit
from portal.core.workflow import TicketEvent
from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, ESTATE, demo_summary, load_demo
from portal.demo_fees import PAYMENTS_A_DAY
from portal.demo_tickets import COMPLAINT_SCENARIOS, REPAIR_SCENARIOS
from portal.extensions import db
from portal.notify.models import Delivery, InboxMessage, Notice, OutboxMessage
from tests.conftest import BACKENDS, FROZEN_AT, make_test_app, postgres_database

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    """An app whose fresh database holds the demo, loaded at FROZEN_AT; yields what the
    loader said along the way."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.sqlite3"
        yield from _loaded(url)
    else:
        with postgres_database() as url:
            yield from _loaded(url)


def _loaded(url):
    app = make_test_app(url)
    with app.app_context():
        try:
            upgrade()
            said = []
            clock.freeze(FROZEN_AT)
            try:
                assert load_demo(progress=said.append) is True
                db.session.commit()
            finally:
                clock.freeze(None)
            yield said
        finally:
            db.session.remove()
            db.engine.dispose()


def count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


def test_the_loader_says_what_it_does_and_gives_the_clock_back(demo):
    assert any(m.startswith("Importing") for m in demo), demo
    assert any(m.startswith("Playing") for m in demo), demo
    assert clock.now() == FROZEN_AT  # as the test's clock was, not a moment of the past


def test_repairs_in_every_state_some_overdue_some_awaiting_a_visit(demo):
    states = Counter(db.session.scalars(select(Repair.status)))
    assert set(states) == {s.value for s in RepairState}, states
    assert sum(states.values()) == len(REPAIR_SCENARIOS)
    overdue = select(Repair).where(Repair.status.in_(OPEN_STATES), Repair.due_at < FROZEN_AT)
    assert count(overdue) >= 3
    awaiting_visit = select(Repair).where(Repair.visit_due_at.is_not(None))
    assert count(awaiting_visit) >= 3
    assert count(awaiting_visit.where(Repair.visit_due_at < FROZEN_AT)) >= 1  # a visit late
    rated = db.session.scalars(select(Repair.rating).where(Repair.status == "closed")).all()
    assert rated and all(1 <= r <= 5 for r in rated)
    results = set(db.session.scalars(select(ReturnVisit.result)))
    assert results == {"satisfied", "neutral", "dissatisfied"}
    urged = select(TicketEvent).where(TicketEvent.kind == "repair", TicketEvent.action == "urge")
    assert count(urged) >= 1


def test_complaints_in_every_state_some_overdue_some_awaiting_a_visit(demo):
    states = Counter(db.session.scalars(select(Complaint.status)))
    assert set(states) == {s.value for s in ComplaintState}, states
    assert sum(states.values()) == len(COMPLAINT_SCENARIOS)
    kinds = set(db.session.scalars(select(Complaint.kind)))
    assert kinds == {"complaint", "inquiry", "suggestion"}
    open_states = ["registered", "accepted", "plan_proposed", "in_progress"]
    overdue = select(Complaint).where(
        Complaint.status.in_(open_states), Complaint.due_at < FROZEN_AT
    )
    assert count(overdue) >= 2
    assert count(select(Complaint).where(Complaint.visit_due_at < FROZEN_AT)) >= 1


def test_every_ticket_has_the_timeline_its_state_says(demo):
    """Each ticket's history starts at its creation and ends in its state, in time order,
    before now: what its page shows agrees with its row."""
    for model, kind in ((Repair, "repair"), (Complaint, "complaint")):
        for ticket in db.session.scalars(select(model)):
            events = db.session.scalars(
                select(TicketEvent)
                .where(TicketEvent.kind == kind, TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.id)
            ).all()
            assert events[0].action == "submit" and events[0].at == ticket.created_at
            assert events[-1].to_state == ticket.status, ticket.number
            assert events[-1].at == ticket.updated_at
            moments = [e.at for e in events]
            assert moments == sorted(moments) and moments[-1] <= FROZEN_AT
            day = ticket.created_at.astimezone(ZoneInfo("Asia/Shanghai"))
            assert ticket.number[2:10] == day.strftime("%Y%m%d")  # numbered on its day


def test_payments_spread_over_three_months_and_several_cashiers(demo):
    rows = db.session.execute(select(Payment.paid_on, Payment.cashier_id, Payment.source)).all()
    months = {paid_on.strftime("%Y-%m") for paid_on, _c, _s in rows}
    assert len(months) >= 3, months
    assert len({cashier for _d, cashier, source in rows if source == "counter"}) >= 2
    assert any(source == "online" for _d, _c, source in rows)
    per_day = Counter(paid_on for paid_on, _c, _s in rows)
    assert len(per_day) >= 40  # not every payment on one day
    assert max(per_day.values()) <= PAYMENTS_A_DAY  # the demo bills fewer than 2,000 units
    assert max(per_day) <= FROZEN_AT.date()
    late = db.session.scalar(select(func.max(Payment.created_at)))
    assert late <= FROZEN_AT


def test_the_busiest_days_cash_report_is_a_page_or_two(demo):
    from flask import current_app, render_template
    from weasyprint import HTML

    from portal.blueprints.reports.cash import cash_figures

    estate = db.session.scalar(select(Estate).where(Estate.name == ESTATE))
    day, _n = Counter(db.session.scalars(select(Payment.paid_on))).most_common(1)[0]
    figures = cash_figures(estate.id, day, receipts=None)  # the printed report: every receipt
    with current_app.test_request_context("/reports/cash"):  # the report's template helpers
        html = render_template(
            "pdf/reports/cash.html", estate=estate, day=day, printed_at=FROZEN_AT, **figures
        )
    pages = len(HTML(string=html).render().pages)
    assert 1 <= pages <= 2, f"{day}: {figures['count']} payments on {pages} pages"


def test_bills_of_three_months_with_some_arrears(demo):
    periods = set(db.session.scalars(select(Bill.period_start).where(Bill.source == "run")))
    assert len(periods) == 3
    units = db.session.scalars(select(Unit.id)).all()
    owing = balances(units)
    overdue_units = set(
        db.session.scalars(select(Bill.unit_id).where(Bill.due_on < FROZEN_AT.date()))
    )
    in_arrears = [u for u in overdue_units if owing[u].owed_fen > 0]
    paid_up = [u for u in overdue_units if owing[u].owed_fen == 0]
    assert len(in_arrears) >= 50 and len(paid_up) >= 300  # some behind, most paid up
    # The demo residents owe their three months (the browser tests pay them).
    residents = db.session.scalars(
        select(User).where(User.username.in_(["resident", "resident2"]))
    ).all()
    for resident in residents:
        (unit_id,) = resident.current_unit_ids
        assert count(select(Bill).where(Bill.unit_id == unit_id)) >= 3
        assert owing[unit_id].owed_fen > 0
        assert count(select(Payment).where(Payment.unit_id == unit_id)) == 0


def test_notices_sent_delivered_and_partly_read(demo):
    assert count(select(Notice)) >= 5
    assert count(select(OutboxMessage).where(OutboxMessage.status != Delivery.delivered)) == 0
    read = count(select(InboxMessage).where(InboxMessage.read_at.is_not(None)))
    unread = count(select(InboxMessage).where(InboxMessage.read_at.is_(None)))
    assert read > unread > 0
    assert count(select(InboxMessage).where(InboxMessage.acknowledged_at.is_not(None))) > 0
    late = db.session.scalar(select(func.max(InboxMessage.read_at)))
    assert late <= FROZEN_AT
    resident = db.session.scalar(select(User).where(User.username == "resident"))
    mine = select(InboxMessage).where(InboxMessage.user_id == resident.id)
    assert count(mine) >= 3 and count(mine.where(InboxMessage.read_at.is_(None))) >= 1


def test_the_estate_was_set_up_before_its_history(demo):
    first_event = db.session.scalar(select(func.min(TicketEvent.at)))
    assert first_event >= FROZEN_AT - timedelta(days=100)
    # Those who moved in during these months became people of the estate at their move.
    moved_in = select(Residency.user_id).where(Residency.start_on >= first_event.date())
    staff_since = db.session.scalar(
        select(func.max(User.created_at)).where(User.id.not_in(moved_in))
    )
    assert staff_since < first_event  # the people existed before they did anything
    assert staff_since < db.session.scalar(select(func.min(Payment.created_at)))


def test_the_logins_are_the_documented_ones(demo):
    users = db.session.scalars(select(User).where(User.username.is_not(None))).all()
    assert {u.username for u in users} == set(DEMO_LOGINS)
    assert all(authenticate(u.username, DEMO_PASSWORD) is u for u in users)
    db.session.rollback()


def test_loading_again_changes_nothing(demo):
    before = demo_summary()
    assert load_demo() is False
    assert demo_summary() == before


def test_the_readme_describes_what_the_demo_loads(demo):
    readme = README.read_text()
    summary = demo_summary()
    for label in ("units", "repairs", "complaints, inquiries and suggestions", "notices"):
        number = re.search(rf"([\d,]+) {re.escape(label)}", summary).group(1)
        assert f"{number} {label}" in readme, f"README should say {number} {label}"
    for login in DEMO_LOGINS:
        assert f"`{login}`" in readme


# ---- moves, keys and passes (issue 15) ------------------------------------------------------


def test_move_ins_at_every_step_two_handed_over_with_cards_and_readings(demo):
    from portal.blueprints.custody.models import Card, MeterReading
    from portal.blueprints.moves.models import MoveIn
    from portal.core.people import current_residency_clause

    states = Counter(db.session.scalars(select(MoveIn.status)))
    assert states == {
        "submitted": 1,
        "documents_checked": 1,
        "inspected": 1,
        "completed": 2,
    }, states
    for move in db.session.scalars(select(MoveIn).where(MoveIn.status == "completed")):
        cards = db.session.scalars(
            select(Card).where(Card.source_kind == "move_in", Card.source_id == move.id)
        ).all()
        assert {c.kind for c in cards} == {"access", "parking"}
        assert all(c.status == "issued" and c.unit_id == move.unit_id for c in cards)
        readings = db.session.scalars(
            select(MeterReading).where(
                MeterReading.source_kind == "move_in", MeterReading.source_id == move.id
            )
        ).all()
        assert {r.meter for r in readings} == {"water", "electricity", "gas"}
        assert all(r.purpose == "first" and r.read_on == move.move_on for r in readings)
        residents = db.session.scalars(
            select(User.phone)
            .join(Residency, Residency.user_id == User.id)
            .where(Residency.unit_id == move.unit_id, current_residency_clause())
        ).all()
        assert sorted(residents) == sorted(p["phone"] for p in move.people)
        assert move.unit.occupancy == move.occupancy
        assert move.completed_at <= FROZEN_AT
    for move in db.session.scalars(select(MoveIn).where(MoveIn.status != "completed")):
        assert move.move_on > FROZEN_AT.date()  # still to come


def test_a_move_out_held_up_by_what_the_unit_owes(demo):
    from portal.blueprints.moves.models import MoveOut
    from portal.blueprints.moves.services import act, clearance
    from portal.core.errors import Conflict

    (move,) = db.session.scalars(select(MoveOut)).all()
    assert move.status == "submitted" and move.number.startswith("QC")
    assert clearance(move)["owed_fen"] > 0 and clearance(move)["residents"]
    desk = db.session.scalar(select(User).where(User.username == "frontdesk"))
    body = {"readings": [{"meter": "water", "value": "999999.00"}], "keys_returned": True}
    try:
        with pytest.raises(Conflict) as refused:
            act(move, "complete", actor=desk, data=body)
        assert "arrears" in refused.value.fields
    finally:
        db.session.rollback()


def test_keys_in_custody_one_set_lent_and_overdue(demo):
    from portal.blueprints.custody.models import KeyMovement, KeySet
    from portal.blueprints.custody.services import figures

    estate = db.session.scalar(select(Estate).where(Estate.name == ESTATE))
    keys = figures(estate.id, FROZEN_AT.date().replace(day=1), FROZEN_AT.date())["keys"]
    assert keys == {"in_custody": 4, "lent": 1, "overdue": 1}
    (lent,) = db.session.scalars(select(KeySet).where(KeySet.status == "lent")).all()
    assert lent.due_back_at < FROZEN_AT and lent.lent_to
    actions = Counter(db.session.scalars(select(KeyMovement.action)))
    assert actions["returned"] == 1 and actions["handed_over"] == 2  # at the two hand-overs


def test_passes_for_today_one_used_and_its_check_logged(demo):
    from portal.blueprints.passes.models import Pass, PassCheck

    # The gate's passes of today (the renovations' worker passes are theirs).
    passes = db.session.scalars(select(Pass).where(Pass.kind != "worker").order_by(Pass.id)).all()
    assert {(p.kind, p.status) for p in passes} == {
        ("goods", "active"),
        ("visitor", "active"),
        ("goods", "pending"),
        ("goods", "used"),
    }
    assert all(p.valid_from <= FROZEN_AT < p.valid_until for p in passes)
    (used,) = [p for p in passes if p.status == "used"]
    (check,) = db.session.scalars(select(PassCheck)).all()
    assert check.pass_id == used.id and check.result == "valid" and check.at <= FROZEN_AT
    (pending,) = [p for p in passes if p.status == "pending"]
    requester = db.session.get(User, pending.requested_by_id)
    assert not requester.is_staff


def test_the_guard_signs_in_and_sees_the_gate(demo):
    from flask import current_app

    client = current_app.test_client()
    response = client.post("/auth/login", data={"login": "guard", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get("/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="gate-today"' in html
    assert 'data-testid="gate-valid">1<' in html  # this morning's goods pass
    db.session.rollback()


def test_the_summary_counts_the_moves(demo):
    summary = demo_summary()
    # 12 passes: the gate's 4 of today and the 8 worker passes of the renovations.
    for words in ("5 move-ins", "1 move-outs", "12 passes", "4 key sets in custody"):
        assert words in summary, summary


# ---- renovations (issue 16) -------------------------------------------------------------------


def _renovations():
    from portal.blueprints.renovation.models import Renovation

    return db.session.scalars(select(Renovation).order_by(Renovation.id)).all()


def test_renovations_in_every_state_of_their_line(demo):
    states = Counter(r.status for r in _renovations())
    assert set(states) == {
        "submitted",
        "reviewed",
        "returned",
        "approved",
        "suspended",
        "accepted",
    }, states
    assert "ZX" in _renovations()[0].number


def test_a_violation_being_rectified_and_works_awaiting_hidden_works(demo):
    from portal.blueprints.renovation.works import works_record

    today = clock.local_today().isoformat()
    records = {r.id: works_record(r) for r in _renovations() if r.status == "approved"}
    rectifying = [w for w in records.values() if w["open_violations"]]
    assert len(rectifying) == 1
    (open_one,) = rectifying[0]["open_violations"]
    assert open_one["rectify_by"] >= today  # its deadline still ahead
    assert any(i.get("rectified") for i in rectifying[0]["inspections"])  # an earlier one done
    waiting = [
        w
        for w in records.values()
        if not w["open_violations"] and not w["hidden_works"] and w["inspections"]
    ]
    assert len(waiting) == 1


def test_one_accepted_and_its_deposit_refunded_with_a_deduction(demo):
    from portal.blueprints.fees.models import DepositRefund

    (accepted,) = [r for r in _renovations() if r.status == "accepted"]
    refund = db.session.scalar(
        select(DepositRefund).where(DepositRefund.source_key == f"renovation:{accepted.id}:deposit")
    )
    assert (refund.paid_fen, refund.deducted_fen, refund.refunded_fen) == (2000_00, 200_00, 1800_00)
    assert [d.reason for d in refund.deductions] == ["楼道建筑垃圾未清运"]


def test_renovations_leave_the_logins_and_the_moves_units_alone(demo):
    from portal.blueprints.moves.models import MoveIn, MoveOut

    units = {r.unit_id for r in _renovations()}
    assert len(units) == len(_renovations()) == 7
    logins = set(
        db.session.scalars(
            select(Residency.unit_id).join(User).where(User.username.in_(["resident", "resident2"]))
        )
    )
    moved = set(db.session.scalars(select(MoveIn.unit_id))) | set(
        db.session.scalars(select(MoveOut.unit_id))
    )
    assert not units & (logins | moved)


def test_the_summary_counts_the_renovations(demo):
    assert "7 renovations" in demo_summary()


def test_the_renovations_worker_passes(demo):
    """Two workers per approved renovation: live for the works under way and awaiting hidden
    works, revoked for the suspended and the accepted."""
    from portal.blueprints.passes.models import Pass

    rows = db.session.execute(
        select(Pass.source_id, Pass.status).where(Pass.kind == "worker").order_by(Pass.id)
    ).all()
    by_state = {r.id: r.status for r in _renovations()}
    seen = Counter((by_state[source], status) for source, status in rows)
    assert seen == {
        ("approved", "active"): 4,
        ("suspended", "revoked"): 2,
        ("accepted", "revoked"): 2,
    }
