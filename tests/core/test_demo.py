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
from portal.core.people import User
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
    staff_since = db.session.scalar(select(func.max(User.created_at)))
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
