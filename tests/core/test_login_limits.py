"""Sign-in limits that fit a deployment: per address (believing X-Forwarded-For only from the
configured proxies) and per account, told how long to wait, and still signing in while Redis
is down (the limiter counts in memory meanwhile)."""

import logging
import time
from contextlib import contextmanager
from types import SimpleNamespace

import limits.storage.memory
import pytest
from flask_migrate import upgrade

from portal import security
from portal.core import accounts
from portal.extensions import db, limiter
from tests.conftest import make_test_app
from tests.notify.test_integration import RedisServer

WRONG = {"password": "wrong-password"}
EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def cheap_unknown_logins(monkeypatch):
    """An unknown login is checked against a dummy hash: make it one of the suite's cheap ones."""
    monkeypatch.setattr(accounts, "_DUMMY_HASH", accounts.hasher.hash("not-a-password"))


class FakeTime(SimpleNamespace):
    """Stands in for the memory storage's clock so a window can pass without sleeping."""

    def time(self):
        return self.now


@contextmanager
def own_limiter_state():
    """A test app re-initialises the one limiter: give the suite its storage back afterwards."""
    names = ("_storage", "_limiter", "_storage_dead", "_fallback_storage", "_fallback_limiter")
    saved = {name: getattr(limiter, name, None) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(limiter, name, value)


@contextmanager
def side_app(database_url, **config):
    """Another app on the run's database (read only here), with its own settings."""
    with own_limiter_state():
        app = make_test_app(database_url, **config)
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()


def fail_sign_in(client, login="nobody", **environ):
    return client.post(
        "/auth/login", data={"login": login, **WRONG}, environ_overrides=environ or None
    ).status_code


def test_forwarded_for_is_believed_only_from_the_configured_proxies(app, db_session):
    # Behind one proxy every request comes from the proxy's address; the proxy appends the
    # client's to X-Forwarded-For, and only that last entry is believed.
    with side_app(app.config["SQLALCHEMY_DATABASE_URI"], PROXY_COUNT=1) as proxied:
        limiter.reset()
        first, second = proxied.test_client(), proxied.test_client()
        for n in range(10):
            spoofed = f"198.51.100.{n}, 203.0.113.1"  # a client's own header does not help
            assert fail_sign_in(first, f"guess{n}", HTTP_X_FORWARDED_FOR=spoofed) == 401
        assert fail_sign_in(first, "guess", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.1") == 429
        assert fail_sign_in(second, "guess", HTTP_X_FORWARDED_FOR="203.0.113.2") == 401
    # Without a configured proxy the header is ignored: naming another address escapes nothing.
    limiter.reset()
    direct = app.test_client()
    for n in range(10):
        assert fail_sign_in(direct, f"guess{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}") == 401
    assert fail_sign_in(direct, "guess", HTTP_X_FORWARDED_FOR="203.0.113.99") == 429


def test_ten_wrong_passwords_for_one_account_lock_that_account_only(client, world, monkeypatch):
    fake = FakeTime(now=time.time())
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(security, "time", fake)
    # From ten addresses, by the form and by the API, in any letter case: one account's budget.
    for n, login in enumerate(["resident", "Resident", " RESIDENT "] * 3 + ["resident"]):
        if n % 2:
            assert fail_sign_in(client, login, REMOTE_ADDR=f"10.0.0.{n}") == 401
        else:
            response = client.post(
                "/api/v1/auth/token",
                json={"username": login, **WRONG},
                environ_overrides={"REMOTE_ADDR": f"10.0.0.{n}"},
            )
            assert response.status_code == 401
    fresh = {"REMOTE_ADDR": "10.0.1.1"}
    right = {"login": "resident", "password": "portal-demo"}
    page = client.post("/auth/login", data=right, environ_overrides=fresh)
    assert page.status_code == 429
    assert "请 15 分钟后再试" in page.get_data(as_text=True)
    api = client.post(
        "/api/v1/auth/token",
        json={"username": "resident", "password": "portal-demo"},
        environ_overrides=fresh,
        headers=EN,
    )
    assert api.status_code == 429
    assert api.get_json()["error"]["code"] == "rate_limited"
    assert "Please wait 15 minutes" in api.get_json()["error"]["message"]
    assert 890 <= int(api.headers["Retry-After"]) <= 900
    # Another account signs in from the same address; the locked one after its window.
    other = {"login": "frontdesk", "password": "portal-demo"}
    assert client.post("/auth/login", data=other, environ_overrides=fresh).status_code == 302
    client.post("/auth/logout")
    fake.now += 15 * 60 + 1
    assert client.post("/auth/login", data=right, environ_overrides=fresh).status_code == 302


def test_the_wait_is_what_is_left_of_the_window(client, world, monkeypatch):
    fake = FakeTime(now=time.time())
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(security, "time", fake)
    for n in range(10):
        assert fail_sign_in(client, f"guess{n}") == 401
    fake.now += 4 * 60 + 30  # the address's five minutes are nearly over
    right = {"login": "resident", "password": "portal-demo"}
    page = client.post("/auth/login", data=right, headers=EN)
    assert page.status_code == 429
    assert "Please wait 1 minute and try again." in page.get_data(as_text=True)
    assert "请 1 分钟后再试" in client.post("/auth/login", data=right).get_data(as_text=True)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Frontdesk", "frontdesk"),
        ("  frontdesk ", "FRONTDESK"),
        ("138 0000 0001", "13800000001"),
        ("138-0000-0001", "(138) 0000 0001"),
    ],
)
def test_an_account_is_counted_under_one_key(one, other):
    assert security.account_key(one) == security.account_key(other)


def test_different_accounts_have_different_keys():
    keys = {
        security.account_key(login) for login in ["frontdesk", "13800000001", "13800000002", None]
    }
    assert len(keys) == 4


@pytest.fixture
def site_on_private_redis(tmp_path):
    """A migrated database with the test world, and an app counting sign-ins in a
    redis-server of the test's own."""
    from tests.factories import make_world

    redis = RedisServer(tmp_path)
    redis.start()
    url = f"sqlite:///{tmp_path}/portal.sqlite3"
    with own_limiter_state():
        app = make_test_app(url, REDIS_URL=redis.url, RATELIMIT_STORAGE_URI=redis.url)
        with app.app_context():
            upgrade()
            make_world()
            db.session.commit()
        try:
            yield app, redis
        finally:
            redis.stop()
            with app.app_context():
                db.engine.dispose()


@pytest.mark.integration
def test_sign_in_works_while_redis_is_down(site_on_private_redis, caplog):
    app, redis = site_on_private_redis
    client = app.test_client()
    assert fail_sign_in(client, "resident") == 401  # counted in Redis
    redis.stop()
    caplog.set_level(logging.WARNING, logger="flask-limiter")
    right = {"login": "resident", "password": "portal-demo"}
    assert client.post("/auth/login", data=right).status_code == 302
    token = client.post(
        "/api/v1/auth/token", json={"username": "resident", "password": "portal-demo"}
    )
    assert token.status_code == 200
    assert "falling back to in-memory storage" in caplog.text
    # Failed attempts still count meanwhile, in this process's memory.
    for n in range(10):
        assert fail_sign_in(app.test_client(), f"guess{n}") == 401
    assert fail_sign_in(app.test_client(), "guess") == 429
