"""POST /api/v1/auth/codes, /auth/activate and /auth/reset (contracts §7)."""

import re
import time
from types import SimpleNamespace

import limits.storage.memory
import pytest
from sqlalchemy import func, select

from portal import security
from portal.core import codes
from portal.extensions import db
from portal.notify.models import OutboxMessage
from tests.factories import make_resident, make_unit

PASSWORD = "green-bamboo-42"
EN = {"Accept-Language": "en"}


def sent_codes(phone):
    """The codes the outbox holds for SMS to a phone, oldest first."""
    bodies = db.session.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.channel == "sms", OutboxMessage.address == phone)
        .order_by(OutboxMessage.id)
    ).all()
    return [re.search(r"(?<!\d)\d{6}(?!\d)", body).group() for body in bodies]


def ask(client, phone, purpose="activate", **kw):
    return client.post("/api/v1/auth/codes", json={"phone": phone, "purpose": purpose}, **kw)


def redeem(client, path, phone, code, password=PASSWORD, **kw):
    return client.post(
        f"/api/v1/auth/{path}", json={"phone": phone, "code": code, "password": password}, **kw
    )


@pytest.fixture
def newcomer(world):
    """Imported without a password: a flat and a parking space under one phone."""
    space = make_unit(world.estate, zone="A区", building="地下车库", number="A-001", kind="parking")
    person = make_resident(world.unit, name="新住户", phone="13700000001")
    make_resident(space, name="新住户", phone="13700000001")
    db.session.commit()
    return SimpleNamespace(user=person, space=space)


def test_unknown_and_known_phones_get_the_same_answer(client, world, newcomer):
    unknown = ask(client, "13999999999")
    known = ask(client, "137 0000 0001")
    assert unknown.status_code == known.status_code == 202
    assert unknown.get_json() == known.get_json() == {"sent": True}
    assert sent_codes("13999999999") == []
    assert len(sent_codes("13700000001")) == 1
    # reset: only an account with a password gets a code
    assert ask(client, "13700000001", "reset").status_code == 202
    assert len(sent_codes("13700000001")) == 1


def test_activation_answers_with_a_token_for_every_unit(client, world, newcomer):
    ask(client, "13700000001")
    response = redeem(client, "activate", "13700000001", sent_codes("13700000001")[0])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"] == {"id": newcomer.user.id, "name": "新住户", "role": "resident"}
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert sorted(u["id"] for u in me.get_json()["units"]) == sorted(
        [world.unit.id, newcomer.space.id]
    )
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": "13700000001", "password": PASSWORD}
    )
    assert signed_in.status_code == 200


@pytest.mark.parametrize("how", ["wrong", "used", "expired", "other purpose"])
def test_a_bad_code_is_400_on_the_code_field(client, world, newcomer, how):
    ask(client, "13700000001")
    code = sent_codes("13700000001")[0]
    if how == "wrong":
        code = "000000" if code != "000000" else "111111"
    elif how == "used":
        assert redeem(client, "activate", "13700000001", code).status_code == 200
    elif how == "expired":
        from portal.core import clock

        clock.freeze(clock.now() + codes.CODE_VALIDITY)
    path = "reset" if how == "other purpose" else "activate"
    response = redeem(client, path, "13700000001", code, headers=EN)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert set(error["fields"]) == {"code"}
    assert "no longer valid" in error["message"]


def test_the_sixth_try_finds_the_code_dead(client, world, newcomer):
    ask(client, "13700000001")
    code = sent_codes("13700000001")[0]
    wrong = "000000" if code != "000000" else "111111"
    for n in range(5):
        response = redeem(
            client,
            "activate",
            "13700000001",
            wrong,
            environ_overrides={"REMOTE_ADDR": f"10.1.{n}.1"},
        )
        assert response.status_code == 400
    response = redeem(client, "activate", "13700000001", code)
    assert response.status_code == 400 and set(response.get_json()["error"]["fields"]) == {"code"}
    assert newcomer.user.password_hash is None


@pytest.mark.parametrize(
    "password, reason", [("short", "too_short"), ("12345678", "common"), ("Password1", "common")]
)
def test_a_weak_password_is_400_on_the_password_field(client, world, newcomer, password, reason):
    ask(client, "13700000001")
    code = sent_codes("13700000001")[0]
    response = redeem(client, "activate", "13700000001", code, password=password)
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"password": reason}
    assert redeem(client, "activate", "13700000001", code).status_code == 200  # still good


def test_reset_revokes_every_earlier_session_and_token(client, world, login_as, api_token):
    old_token = api_token("resident")
    browser = login_as("resident")
    assert browser.get("/").status_code == 200
    assert ask(client, world.resident.phone, "reset").status_code == 202
    code = sent_codes(world.resident.phone)[0]
    response = redeem(client, "reset", world.resident.phone, code)
    assert response.status_code == 200
    assert client.get("/api/v1/me", headers=old_token).status_code == 401
    new = {"Authorization": f"Bearer {response.get_json()['token']}"}
    assert client.get("/api/v1/me", headers=new).status_code == 200
    page = browser.get("/")
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phone": "13700000001"},
        {"phone": "13700000001", "purpose": "login"},
        {"phone": "not a phone", "purpose": "activate"},
        {"phone": "1" * 40, "purpose": "activate"},
        {"phone": 13700000001, "purpose": "activate"},
        {"phone": "13700000001", "purpose": "activate", "extra": 1},
    ],
)
def test_bad_requests_for_a_code_are_400(client, world, body):
    response = client.post("/api/v1/auth/codes", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]


def test_bad_redeem_bodies_are_400(client, world, newcomer):
    for body in (
        {"phone": "13700000001", "code": "", "password": PASSWORD},
        {"phone": "13700000001", "code": "1" * 13, "password": PASSWORD},
        {"phone": "13700000001", "code": "123456"},
        {"phone": "13700000001", "code": "12345a", "password": "x" * 257},
    ):
        response = client.post("/api/v1/auth/activate", json=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["fields"]


class FakeTime(SimpleNamespace):
    def time(self):
        return self.now


def test_codes_are_limited_per_phone_and_per_address(client, world, newcomer, monkeypatch):
    fake = FakeTime(now=time.time())
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(security, "time", fake)
    for n in range(5):  # one phone from five addresses
        response = ask(client, "13700000001", environ_overrides={"REMOTE_ADDR": f"10.2.{n}.1"})
        assert response.status_code == 202
    refused = ask(client, "13700000001", environ_overrides={"REMOTE_ADDR": "10.2.9.1"}, headers=EN)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert len(sent_codes("13700000001")) == 5
    # one address asking for twenty numbers
    for n in range(20):
        assert (
            ask(
                client, f"1390000{n:04d}", environ_overrides={"REMOTE_ADDR": "10.3.0.1"}
            ).status_code
            == 202
        )
    assert (
        ask(client, "13900009999", environ_overrides={"REMOTE_ADDR": "10.3.0.1"}).status_code == 429
    )
    fake.now += 3601
    assert (
        ask(client, "13700000001", environ_overrides={"REMOTE_ADDR": "10.3.0.1"}).status_code == 202
    )


def test_wrong_codes_share_the_sign_in_budget_of_the_phone(client, world, newcomer, monkeypatch):
    fake = FakeTime(now=time.time())
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(security, "time", fake)
    for n in range(10):  # codes die after five tries; the phone's budget is ten failures
        ask(client, "13700000001", environ_overrides={"REMOTE_ADDR": f"10.4.{n}.1"})
        response = redeem(
            client,
            "activate",
            "13700000001",
            "999999",
            environ_overrides={"REMOTE_ADDR": f"10.4.{n}.1"},
        )
        assert response.status_code in (400, 429)
    response = redeem(
        client, "activate", "13700000001", "999999", environ_overrides={"REMOTE_ADDR": "10.5.0.1"}
    )
    assert response.status_code == 429


def test_the_document_lists_the_account_calls_with_their_errors(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    codes_call = paths["/api/v1/auth/codes"]["post"]
    assert set(codes_call["responses"]) == {"202", "400", "429"}
    assert "security" not in codes_call
    for path in ("/api/v1/auth/activate", "/api/v1/auth/reset"):
        assert set(paths[path]["post"]["responses"]) == {"200", "400", "429"}


def test_nothing_is_stored_for_an_unknown_phone(client, world):
    ask(client, "13999999999")
    ask(client, "13999999999", "reset")
    assert db.session.scalar(select(func.count(codes.AccountCode.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
