"""The sign-in page's two ways in by SMS code: /auth/activate and /auth/reset (contracts §7)."""

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
PHONE = "13700000001"
EN = {"Accept-Language": "en"}


def sent_codes(phone=PHONE):
    bodies = db.session.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.channel == "sms", OutboxMessage.address == phone)
        .order_by(OutboxMessage.id)
    ).all()
    return [re.search(r"(?<!\d)\d{6}(?!\d)", body).group() for body in bodies]


@pytest.fixture
def newcomer(world):
    """Imported without a password: a flat and a parking space under one phone (the space
    entered under a slightly different name, as imports from old systems have it)."""
    space = make_unit(world.estate, zone="A区", building="地下车库", number="A-001", kind="parking")
    person = make_resident(world.unit, name="新住户", phone=PHONE)
    make_resident(space, name="新住户(车位)", phone=PHONE)
    db.session.commit()
    return SimpleNamespace(user=person, space=space)


def ask_code(client, flow="activate", phone=PHONE, **kw):
    return client.post(f"/auth/{flow}", data={"phone": phone}, **kw)


def enter_code(client, code, flow="activate", password=PASSWORD, confirm=None, **kw):
    data = {"phone": PHONE, "code": code, "password": password, "confirm": confirm or password}
    return client.post(f"/auth/{flow}/code", data=data, **kw)


def test_the_sign_in_page_links_to_both_flows(client, world):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/activate"' in page and 'href="/auth/reset"' in page
    for flow, title in (("activate", "激活账户"), ("reset", "重设密码")):
        body = client.get(f"/auth/{flow}").get_data(as_text=True)
        assert title in body and 'type="tel"' in body and 'name="phone"' in body


def test_activation_signs_in_and_shows_every_unit(client, world, newcomer):
    response = ask_code(client, headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/activate/code"
    page = client.get("/auth/activate/code", headers=EN).get_data(as_text=True)
    assert "If this number is on record" in page and PHONE in page
    assert 'autocomplete="one-time-code"' in page
    done = enter_code(client, sent_codes()[0])
    assert done.status_code == 302 and done.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "1单元101" in home and "A-001" in home
    fees = client.get("/fees/mine")
    assert fees.status_code == 200
    assert "1单元101" in fees.get_data(as_text=True) and "A-001" in fees.get_data(as_text=True)
    client.post("/auth/logout")
    again = client.post("/auth/login", data={"login": PHONE, "password": PASSWORD})
    assert again.status_code == 302


def test_an_unknown_number_reads_the_same_and_nothing_is_sent(client, world):
    response = ask_code(client, phone="13999999999", headers=EN)
    assert response.status_code == 302
    page = client.get("/auth/activate/code", headers=EN).get_data(as_text=True)
    assert "If this number is on record" in page
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_the_code_step_needs_a_number_first(client, world):
    response = client.get("/auth/reset/code")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/reset"


@pytest.mark.parametrize(
    "how, field",
    [
        ("wrong", "code"),
        ("not digits", "code"),
        ("short", "password"),
        ("common", "password"),
        ("differ", "confirm"),
    ],
)
def test_bad_input_is_shown_beside_its_field(client, world, newcomer, how, field):
    ask_code(client)
    code = sent_codes()[0]
    password, confirm = PASSWORD, None
    if how == "wrong":
        code = "000000" if code != "000000" else "111111"
    elif how == "not digits":
        code = "12ab56"
    elif how == "short":
        password = "abc"
    elif how == "common":
        password = "woaini1314"
    elif how == "differ":
        confirm = PASSWORD + "!"
    response = enter_code(client, code, password=password, confirm=confirm, headers=EN)
    assert response.status_code == 400
    assert f'data-field="{field}"' in response.get_data(as_text=True)
    assert newcomer.user.password_hash is None
    if how != "wrong":  # the code is still good
        assert enter_code(client, sent_codes()[0]).status_code == 302


def test_a_dead_code_stays_dead(client, world, newcomer):
    ask_code(client)
    code = sent_codes()[0]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert enter_code(client, wrong).status_code == 400
    response = enter_code(client, code, headers=EN)
    assert response.status_code == 400
    assert "no longer valid" in response.get_data(as_text=True)


def test_reset_signs_out_every_earlier_session(client, world, app, login_as):
    old = app.test_client()
    login_as("resident", c=old)
    assert old.get("/").status_code == 200
    ask_code(client, "reset", phone=world.resident.phone)
    data = {
        "phone": world.resident.phone,
        "code": sent_codes(world.resident.phone)[0],
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    assert client.post("/auth/reset/code", data=data).status_code == 302
    assert client.get("/").status_code == 200  # the new session
    page = old.get("/")
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]


def test_a_signed_in_person_goes_home(client, world, login_as):
    login_as("resident")
    for path in ("/auth/activate", "/auth/activate/code", "/auth/reset", "/auth/reset/code"):
        assert client.get(path).headers["Location"] == "/"


def test_forms_need_their_csrf_token(client, world, newcomer, csrf_on):
    assert ask_code(client).status_code == 400
    assert sent_codes() == []


class FakeTime(SimpleNamespace):
    def time(self):
        return self.now


def test_too_many_codes_is_said_on_the_page(client, world, newcomer, monkeypatch):
    fake = FakeTime(now=time.time())
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(security, "time", fake)
    for _ in range(5):
        assert ask_code(client).status_code == 302
    page = ask_code(client, headers=EN)
    assert page.status_code == 429
    body = page.get_data(as_text=True)
    assert 'data-testid="rate-limited"' in body and "Please wait 60 minutes" in body
    assert 'name="phone"' in body
    assert len(sent_codes()) == 5
    # the sign-in form keeps its own page for its own refusals
    for n in range(10):
        client.post("/auth/login", data={"login": "resident", "password": f"wrong-{n}"})
    refused = client.post("/auth/login", data={"login": "resident", "password": "x"}, headers=EN)
    assert refused.status_code == 429 and 'name="login"' in refused.get_data(as_text=True)


def test_a_letter_code_needs_no_sms(client, world, newcomer):
    """An activation letter's link names the phone; its code is entered without an SMS."""
    from datetime import timedelta

    letter_code = codes.issue(newcomer.user, codes.ACTIVATE, valid_for=timedelta(days=30))
    db.session.commit()
    page = client.get(f"/auth/activate?phone={PHONE}").get_data(as_text=True)
    assert f'value="{PHONE}"' in page and 'name="have_code"' in page
    response = client.post("/auth/activate", data={"phone": PHONE, "have_code": "x"})
    assert response.headers["Location"] == "/auth/activate/code"
    assert sent_codes() == []
    assert enter_code(client, letter_code).status_code == 302
    assert sorted(newcomer.user.current_unit_ids) == sorted([world.unit.id, newcomer.space.id])
