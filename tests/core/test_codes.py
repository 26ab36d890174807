"""One-time account codes (portal/core/codes.py): issue, redeem, send, activate, reset."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.blueprints.auth.services import request_code
from portal.core import accounts, clock, codes, staff_accounts
from portal.core.errors import ServiceError
from portal.core.people import Relation, Residency, User
from portal.core.tokens import issue_token, user_for_token
from portal.extensions import db
from portal.notify.models import Delivery, OutboxMessage
from tests.factories import make_resident, make_unit

PASSWORD = "green-bamboo-42"


def sms_rows(user=None):
    stmt = select(OutboxMessage).where(OutboxMessage.channel == "sms")
    if user is not None:
        stmt = stmt.where(OutboxMessage.recipient_id == user.id)
    return db.session.scalars(stmt.order_by(OutboxMessage.id)).all()


def code_in(row) -> str:
    return re.search(r"(?<!\d)\d{6}(?!\d)", row.body).group()


@pytest.fixture
def newcomer(world):
    """A resident imported without a password, holding the world's flat."""
    return make_resident(world.unit, name="新住户", phone="13700000001")


def test_a_code_is_six_digits_and_only_its_hash_is_stored(world, newcomer):
    code = codes.issue(newcomer, codes.ACTIVATE)
    assert len(code) == 6 and code.isdigit()
    row = db.session.scalar(select(codes.AccountCode))
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at == clock.now() + timedelta(minutes=10)
    assert codes.redeem("137-0000-0001", codes.ACTIVATE, code) == newcomer
    with pytest.raises(codes.CodeRefused) as refused:
        codes.redeem("13700000001", codes.ACTIVATE, code)  # one use
    assert refused.value.fields == {"code": "invalid"}


def test_a_code_is_for_its_purpose_and_phone_and_expires(world, newcomer):
    code = codes.issue(newcomer, codes.ACTIVATE)
    for phone, purpose in (("13700000001", codes.RESET), ("13700000002", codes.ACTIVATE)):
        with pytest.raises(codes.CodeRefused):
            codes.redeem(phone, purpose, code)
    clock.freeze(clock.now() + timedelta(minutes=10))
    with pytest.raises(codes.CodeRefused):
        codes.redeem("13700000001", codes.ACTIVATE, code)  # expired


def test_a_letter_code_may_live_longer(world, newcomer):
    code = codes.issue(newcomer, codes.ACTIVATE, valid_for=timedelta(days=30))
    clock.freeze(clock.now() + timedelta(days=29))
    assert codes.redeem("13700000001", codes.ACTIVATE, code) == newcomer


def test_five_wrong_tries_kill_the_code(world, newcomer):
    code = codes.issue(newcomer, codes.ACTIVATE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(codes.CodeRefused):
            codes.redeem("13700000001", codes.ACTIVATE, wrong)
    assert codes.redeem("13700000001", codes.ACTIVATE, code) == newcomer  # 4 wrong: alive

    code = codes.issue(newcomer, codes.ACTIVATE)
    for attempt in [wrong] * 4 + ["12ab56"]:  # a malformed code is a wrong try too
        with pytest.raises(codes.CodeRefused):
            codes.redeem("13700000001", codes.ACTIVATE, attempt)
    with pytest.raises(codes.CodeRefused):
        codes.redeem("13700000001", codes.ACTIVATE, code)  # the right code, but dead
    assert db.session.scalar(select(func.max(codes.AccountCode.tries))) == 5


def test_unknown_phone_sends_nothing(world):
    assert request_code("13999999999", codes.ACTIVATE) is False
    assert request_code("13999999999", codes.RESET) is False
    assert request_code("", codes.ACTIVATE) is False
    assert sms_rows() == []
    assert db.session.scalar(select(func.count(codes.AccountCode.id))) == 0


def test_who_gets_a_code(world, newcomer):
    # activate: a current resident; reset: an account with a password
    assert request_code("13700000001", codes.RESET) is False  # no password yet
    moved_out = make_resident(world.unit2, phone="13700000005", end_on=date(2025, 1, 1))
    assert request_code(moved_out.phone, codes.ACTIVATE) is False
    assert request_code(world.frontdesk.phone, codes.RESET) is False  # staff: by admin
    assert request_code("13700000001", codes.ACTIVATE) is True
    assert request_code(world.resident.phone, codes.RESET) is True
    assert [r.recipient_id for r in sms_rows()] == [newcomer.id, world.resident.id]


def test_the_code_goes_out_by_sms_at_once_even_in_quiet_hours(world, newcomer, app, sms_gateway):
    app.config["SMS_GATEWAY_URL"] = sms_gateway.url
    clock.freeze(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    try:
        assert request_code("13700000001", codes.ACTIVATE)
        db.session.commit()
        from portal.jobs import run_committed

        run_committed()
        row = sms_rows(newcomer)[0]
        assert row.urgent and row.not_before == clock.now()
        assert row.status == Delivery.delivered
        assert [m["to"] for m in sms_gateway.received] == ["13700000001"]
        code = code_in(row)
        assert code in sms_gateway.received[0]["text"]
        assert codes.activate("13700000001", code, PASSWORD) == newcomer
    finally:
        app.config["SMS_GATEWAY_URL"] = None


def test_activation_sets_the_password_and_signs_in_by_phone(world, newcomer):
    code = codes.issue(newcomer, codes.ACTIVATE)
    user = codes.activate("13700000001", code, PASSWORD)
    assert user == newcomer and newcomer.password_hash.startswith("$argon2id$")
    assert accounts.authenticate("13700000001", PASSWORD) == newcomer


def test_a_used_code_kills_the_person_s_other_codes(world, newcomer):
    """A letter's code left in a drawer must not reset the password of an account that was
    activated since by SMS."""
    letter = codes.issue(newcomer, codes.ACTIVATE, valid_for=timedelta(days=30))
    sms = codes.issue(newcomer, codes.ACTIVATE)
    codes.activate("13700000001", sms, PASSWORD)
    with pytest.raises(codes.CodeRefused):
        codes.activate("13700000001", letter, "another-secret-99")
    assert accounts.authenticate("13700000001", PASSWORD) == newcomer


@pytest.mark.parametrize(
    "password, reason",
    [("short1!", "too_short"), ("password123", "common"), ("Qwerty123", "common")],
)
def test_a_weak_password_is_refused_and_costs_no_try(world, newcomer, password, reason):
    code = codes.issue(newcomer, codes.ACTIVATE)
    with pytest.raises(ServiceError) as refused:
        codes.activate("13700000001", code, password)
    assert refused.value.fields == {"password": reason}
    assert db.session.scalar(select(codes.AccountCode.tries)) == 0
    assert newcomer.password_hash is None


def test_reset_ends_every_session_and_token(world):
    user = world.resident
    version = user.session_version
    token, _row = issue_token(user)
    code = codes.issue(user, codes.RESET)
    assert codes.reset_password(user.phone, code, PASSWORD) == user
    assert user.session_version == version + 1
    assert user_for_token(token) is None
    assert accounts.authenticate(user.phone, PASSWORD) == user
    assert accounts.authenticate("resident", "portal-demo") is None
    assert not staff_accounts.must_change_password(user)  # the owner chose it


def test_one_activation_brings_every_unit_held_under_the_phone(world, newcomer):
    """The same phone imported under another name for a parking space: one account."""
    space = make_unit(world.estate, zone="A区", building="地下车库", number="A-001", kind="parking")
    twin = make_resident(space, name="新住户(车位)", phone="13700000001")
    code = codes.issue(newcomer, codes.ACTIVATE)
    user = codes.activate("13700000001", code, PASSWORD)
    db.session.commit()
    assert user == newcomer
    assert sorted(user.current_unit_ids) == sorted([world.unit.id, space.id])
    assert twin.is_active is False
    assert db.session.scalar(select(func.count()).where(Residency.user_id == twin.id)) == 0
    assert (
        db.session.scalar(
            select(func.count(User.id)).where(User.phone == "13700000001", User.is_active)
        )
        == 1
    )
    assert {r.relation for r in user.residencies} == {Relation.owner}


def test_the_import_keeps_one_person_per_phone_in_an_estate(world):
    """A flat and a parking space under one phone, the space under another spelling of the
    name: one person, whom one activation gives both; importing again adds nothing."""
    from portal.core.imports import run_import

    space = make_unit(world.estate, zone="A区", building="地下车库", number="A-001", kind="parking")
    rows = (
        "zone,building,unit,name,phone,relation\n"
        "A区,1栋,2单元101,新住户,137-0000-0009,owner\n"
        "A区,地下车库,A-001,新住户（车位）,13700000009,owner\n"
    )
    report = run_import("residents", "r.csv", rows.encode(), estate_name="测试花园")
    assert report.ok and report.created == 2
    db.session.commit()
    people = db.session.scalars(select(User).where(User.phone == "13700000009")).all()
    assert len(people) == 1 and people[0].name == "新住户"
    assert request_code("13700000009", codes.ACTIVATE)
    code = re.search(r"(?<!\d)\d{6}(?!\d)", sms_rows(people[0])[0].body).group()
    user = codes.activate("13700000009", code, PASSWORD)
    db.session.commit()
    assert sorted(user.current_unit_ids) == sorted([world.unit2.id, space.id])
    again = run_import("residents", "r.csv", rows.encode(), estate_name="测试花园")
    db.session.commit()
    assert again.ok and again.unchanged == 2 and again.created == 0
    assert db.session.scalar(select(func.count(User.id)).where(User.phone == "13700000009")) == 1
