"""The workflow engine: a second ticket kind needs no new engine code."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from portal.core import clock, workflow
from portal.core.errors import Conflict, NotAllowed, ServiceError
from portal.core.people import Role
from portal.core.types import UTCDateTime
from portal.extensions import db


class OtherBase(DeclarativeBase):
    """A separate registry so this test's table never joins the portal's schema."""

    metadata = MetaData()


class Parcel(OtherBase):
    """A made-up ticket kind: a parcel held at the front desk."""

    __tablename__ = "test_parcels"
    __workflow__ = "parcel"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    estate_id: Mapped[int]
    unit_id: Mapped[int | None]
    owner_id: Mapped[int]
    created_by_id: Mapped[int]
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


from pydantic import BaseModel, Field  # noqa: E402


class Collect(BaseModel):
    collected_by: str = Field(min_length=1)


ESCALATED = []
PARCEL = workflow.register(
    workflow.Workflow(
        kind="parcel",
        model=Parcel,
        prefix="PK",
        initial="held",
        open_states=frozenset({"held"}),
        ladder=(workflow.Step("remind", timedelta(0), lambda t, s: ESCALATED.append(t.id)),),
    )
)
PARCEL.add(
    workflow.Transition("collect", ("held",), "collected", frozenset({Role.frontdesk}), Collect)
)
PARCEL.add(workflow.Transition("return", ("held",), "returned", frozenset({Role.manager})))


@pytest.fixture
def parcels(db_session):
    Parcel.__table__.create(db_session.connection())
    ESCALATED.clear()
    yield
    # dropped with the test's rolled-back transaction


def new_parcel(world, due_in=timedelta(days=2)):
    parcel = Parcel(estate_id=world.estate.id, unit_id=world.unit.id)
    workflow.open_ticket(PARCEL, parcel, actor=world.frontdesk)
    parcel.due_at = clock.now() + due_in
    return parcel


def test_a_second_kind_runs_on_the_same_engine(world, parcels):
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    first, second = new_parcel(world), new_parcel(world)
    assert (first.number, second.number) == ("PK202611230001", "PK202611230002")
    assert first.owner_id == world.frontdesk.id  # first-contact owner
    with pytest.raises(ServiceError) as bad:
        workflow.apply(first, "collect", actor=world.frontdesk, data={})
    assert "collected_by" in bad.value.fields
    with pytest.raises(NotAllowed):
        workflow.apply(first, "collect", actor=world.manager, data={"collected_by": "x"})
    workflow.apply(first, "collect", actor=world.frontdesk, data={"collected_by": "陈业主"})
    assert first.status == "collected"
    with pytest.raises(Conflict) as late:
        workflow.apply(first, "collect", actor=world.frontdesk, data={"collected_by": "x"})
    assert late.value.status == 409 and late.value.fields == {"allowed": []}
    with pytest.raises(Conflict) as unknown:
        workflow.apply(second, "fly", actor=world.frontdesk)
    assert unknown.value.fields == {"allowed": ["collect"]}
    events = workflow.history(first)
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("submit", None, "held"),
        ("collect", "held", "collected"),
    ]
    assert events[1].data == {"collected_by": "陈业主"} and events[1].actor_id == world.frontdesk.id


def test_the_ladder_takes_each_rung_once(world, parcels):
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    clock.freeze(start)
    parcel = new_parcel(world, due_in=timedelta(hours=1))
    db.session.commit()
    assert workflow.sweep_overdue(PARCEL) == 0
    clock.freeze(start + timedelta(hours=1))
    assert workflow.sweep_overdue(PARCEL) == 1
    assert workflow.sweep_overdue(PARCEL) == 0  # once
    parcel.due_at = clock.now() + timedelta(hours=1)  # a new agreed time: the ladder again
    db.session.commit()
    clock.freeze(start + timedelta(hours=2, minutes=1))
    assert workflow.sweep_overdue(PARCEL) == 1
    assert [parcel.id, parcel.id] == ESCALATED


def test_a_transition_may_choose_its_target_from_the_input(world, parcels):
    PARCEL.add(
        workflow.Transition(
            "inspect",
            ("held",),
            lambda t, d: "returned" if d["damaged"] else None,
            frozenset({Role.frontdesk}),
            type("Inspect", (BaseModel,), {"__annotations__": {"damaged": bool}}),
        )
    )
    try:
        good, bad = new_parcel(world), new_parcel(world)
        workflow.apply(good, "inspect", actor=world.frontdesk, data={"damaged": False})
        workflow.apply(bad, "inspect", actor=world.frontdesk, data={"damaged": True})
        assert (good.status, bad.status) == ("held", "returned")
        assert workflow.history(bad)[-1].to_state == "returned"
    finally:
        PARCEL.transitions.pop("inspect")


class Loan(OtherBase):
    """Another made-up kind: a tool lent to a resident, with a return visit once it is back."""

    __tablename__ = "test_loans"
    __workflow__ = "loan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    estate_id: Mapped[int]
    unit_id: Mapped[int | None]
    owner_id: Mapped[int | None]
    created_by_id: Mapped[int]
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visit_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


RECEIVED, UPSET = [], []


@pytest.fixture
def loans(db_session):
    """The loan kind, declared only for the test (the visit queue unions every kind)."""
    from portal.core import settings, visits

    Loan.__table__.create(db_session.connection())
    settings.declare("loans.visit_due_hours", "Loan visit (hours)", int, 10)
    kind = workflow.register(
        workflow.Workflow(
            kind="loan",
            model=Loan,
            prefix="JY",
            initial="lent",
            open_states=frozenset({"lent"}),
            initial_due=lambda loan: timedelta(days=7),
            received_notice=lambda loan: RECEIVED.append(loan.number),
            visit=visits.Visit(("returned",), frozenset({Role.frontdesk}), "loans.visit_due_hours"),
            on_dissatisfied=visits.Dissatisfied(
                to="lent", notify=lambda loan, data, actor: UPSET.append(data["note"])
            ),
        )
    )
    kind.add(workflow.Transition("return", ("lent",), "returned", frozenset({Role.frontdesk})))
    RECEIVED.clear()
    UPSET.clear()
    yield kind
    workflow.WORKFLOWS.pop("loan")
    settings.REGISTRY.pop("loans.visit_due_hours")


def test_a_kind_declares_due_time_notice_and_return_visit(world, loans):
    from portal.core.visits import ReturnVisit

    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 estate time
    clock.freeze(start)
    loan = Loan(estate_id=world.estate.id, unit_id=world.unit.id)
    workflow.open_ticket(loans, loan, actor=world.frontdesk)
    assert loan.due_at == start + timedelta(days=7) and [loan.number] == RECEIVED
    assert loan.visit_due_at is None
    workflow.apply(loan, "return", actor=world.frontdesk)
    assert loan.visit_due_at == start + timedelta(hours=10)  # 21:00: before the rest hours
    visit = {"result": "dissatisfied", "note": "刀片钝了", "channel": "in_person"}
    workflow.apply(loan, "return-visit", actor=world.frontdesk, data=visit)
    assert (loan.status, loan.visit_due_at, UPSET) == ("lent", None, ["刀片钝了"])
    clock.freeze(start + timedelta(hours=1))  # 12:00, due 22:00: rest hours → 08:00
    workflow.apply(loan, "return", actor=world.frontdesk)
    assert loan.visit_due_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    queue = db.session.execute(workflow.visit_queue(world.frontdesk, kinds={"loan"})).all()
    assert [(row.kind, row.id, row.due_at) for row in queue] == [
        ("loan", loan.id, loan.visit_due_at)
    ]
    workflow.apply(
        loan, "return-visit", actor=world.frontdesk, data={"result": "satisfied", "note": "好"}
    )
    assert loan.status == "returned" and len(UPSET) == 1
    rows = db.session.scalars(select(ReturnVisit).where(ReturnVisit.kind == "loan")).all()
    assert [(v.result, v.channel, v.ticket_id) for v in rows] == [
        ("dissatisfied", "in_person", loan.id),
        ("satisfied", "phone", loan.id),
    ]
    assert db.session.execute(workflow.visit_queue(world.frontdesk, kinds={"loan"})).all() == []
    with pytest.raises(NotAllowed):
        workflow.apply(loan, "return-visit", actor=world.manager, data=visit)
