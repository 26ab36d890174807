"""Sign-in, sessions, revocation, rate limiting, CSRF and security headers."""

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import limits.storage.memory
from argon2 import PasswordHasher

from portal.core import accounts
from portal.core.people import User
from portal.extensions import db


def test_sign_in_by_username_and_by_phone(client, world):
    assert (
        client.post(
            "/auth/login", data={"login": "resident", "password": "portal-demo"}
        ).status_code
        == 302
    )
    client.post("/auth/logout")
    response = client.post("/auth/login", data={"login": "13800000001", "password": "portal-demo"})
    assert response.status_code == 302
    assert "1单元101" in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused_with_a_message(client, world):
    response = client.post("/auth/login", data={"login": "resident", "password": "nope"})
    assert response.status_code == 401
    assert client.get("/").status_code == 302  # still signed out


def test_person_without_password_cannot_sign_in(client, world):
    # The family member has a phone but no password: the phone alone opens nothing.
    response = client.post("/auth/login", data={"login": "13800000002", "password": ""})
    assert response.status_code == 401


def test_outdated_hash_is_rehashed_on_sign_in(client, world, monkeypatch):
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    strong = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    world.resident.password_hash = weak.hash("portal-demo")
    db.session.commit()
    monkeypatch.setattr(accounts, "hasher", strong)
    assert (
        client.post(
            "/auth/login", data={"login": "resident", "password": "portal-demo"}
        ).status_code
        == 302
    )
    stored = db.session.get(User, world.resident.id).password_hash
    assert stored.startswith("$argon2id$") and "t=2" in stored and "m=2048" in stored


def test_sign_out_revokes_the_session_on_the_server(app, client, login_as):
    login_as("resident")
    cookie = client.get_cookie("portal_session").value
    assert client.post("/auth/logout").status_code == 302
    # Replaying the old cookie (as a thief who copied it would) no longer signs anyone in.
    thief = app.test_client()
    thief.set_cookie("portal_session", cookie)
    assert thief.get("/").status_code == 302


def test_password_change_revokes_other_sessions_and_tokens(app, client, login_as, api_token):
    headers = api_token("resident")
    other_device = app.test_client()
    login_as("resident", c=other_device)
    login_as("resident")
    response = client.post(
        "/auth/password",
        data={
            "current_password": "portal-demo",
            "new_password": "a-new-secret",
            "confirm": "a-new-secret",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this device stays signed in
    assert other_device.get("/").status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    client.post("/auth/logout")
    assert (
        client.post(
            "/auth/login", data={"login": "resident", "password": "a-new-secret"}
        ).status_code
        == 302
    )


def test_password_change_errors_are_shown_beside_the_fields(client, login_as):
    login_as("resident")
    page = client.post(
        "/auth/password",
        data={
            "current_password": "wrong",
            "new_password": "a-new-secret",
            "confirm": "a-new-secret",
        },
    )
    assert page.status_code == 400
    assert 'data-field="current_password"' in page.get_data(as_text=True)
    short = client.post(
        "/auth/password",
        data={"current_password": "portal-demo", "new_password": "short", "confirm": "other"},
    )
    body = short.get_data(as_text=True)
    assert 'data-field="new_password"' in body and 'data-field="confirm"' in body


def test_idle_session_expires(app, client, login_as):
    login_as("resident")
    with client.session_transaction() as session:
        session["seen_at"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 1
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.location
    assert client.get("/").status_code == 302


def test_absolute_session_lifetime(app, client, login_as):
    login_as("resident")
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    with client.session_transaction() as session:
        session["login_at"] -= int(lifetime.total_seconds()) + 1
    assert client.get("/").status_code == 302


def test_active_session_survives(client, login_as):
    login_as("resident")
    for _ in range(3):
        assert client.get("/").status_code == 200


def test_the_session_cookie_is_sent_again_once_a_minute_not_on_every_page(
    client, login_as, monkeypatch
):
    from portal import security

    login_as("resident")
    client.get("/")
    assert "portal_session" not in client.get("/").headers.get("Set-Cookie", "")
    later = time.time() + security.SEEN_AT_STEP + 1
    monkeypatch.setattr(security, "time", SimpleNamespace(time=lambda: later))
    assert "portal_session" in client.get("/").headers.get("Set-Cookie", "")


class FakeTime(SimpleNamespace):
    """Stands in for the rate limiter's clock so the window can pass without sleeping."""

    def time(self):
        return self.now


def test_ten_wrong_passwords_rate_limit_for_the_window_only(client, world, monkeypatch):
    fake = FakeTime(now=time.time())
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", accounts.hasher.hash("x"))  # cheap unknowns
    for n in range(10):  # ten accounts tried from one address: the per-address limit
        assert (
            client.post("/auth/login", data={"login": f"guess{n}", "password": "x"}).status_code
            == 401
        )
    blocked = client.post("/auth/login", data={"login": "resident", "password": "portal-demo"})
    assert blocked.status_code == 429
    body = blocked.get_data(as_text=True)
    assert 'data-testid="rate-limited"' in body
    assert re.search(r"\b5\b", body)  # says how many minutes to wait
    fake.now += timedelta(minutes=5, seconds=1).total_seconds()
    # The real owner is not locked out beyond the window.
    assert (
        client.post(
            "/auth/login", data={"login": "resident", "password": "portal-demo"}
        ).status_code
        == 302
    )


def test_successful_sign_ins_do_not_count_against_the_limit(client, world):
    for _ in range(12):
        assert (
            client.post(
                "/auth/login", data={"login": "resident", "password": "portal-demo"}
            ).status_code
            == 302
        )
        client.post("/auth/logout")


def test_csrf_is_required_on_forms(client, world, csrf_on):
    response = client.post("/auth/login", data={"login": "resident", "password": "portal-demo"})
    assert response.status_code == 400
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login", data={"login": "resident", "password": "portal-demo", "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.post("/auth/logout").status_code == 400  # no token, still signed in
    assert client.get("/").status_code == 200


def test_security_headers_on_every_kind_of_response(client, login_as):
    for url in ("/auth/login", "/no-such-page", "/api/v1/openapi.json", "/static/css/portal.css"):
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    login_as("resident")
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(client, world):
    response = client.post("/auth/login", data={"login": "resident", "password": "portal-demo"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    from portal import create_app

    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    import importlib

    import portal.config

    importlib.reload(portal.config)
    try:
        app = create_app()
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["PRODUCTION"] is True
    finally:
        monkeypatch.undo()
        importlib.reload(portal.config)


def test_production_refuses_to_start_without_a_secret(monkeypatch, tmp_path):
    import importlib

    import pytest

    import portal.config
    from portal import create_app

    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    importlib.reload(portal.config)
    try:
        with pytest.raises(RuntimeError, match="PORTAL_SECRET_KEY"):
            create_app()
    finally:
        monkeypatch.undo()
        importlib.reload(portal.config)


def test_next_parameter_never_leaves_the_site(client, world):
    response = client.post(
        "/auth/login?next=//evil.example/x", data={"login": "resident", "password": "portal-demo"}
    )
    assert response.location == "/"
    client.post("/auth/logout")
    response = client.post(
        "/auth/login?next=/units/1", data={"login": "resident", "password": "portal-demo"}
    )
    assert response.location == "/units/1"


def test_static_files_do_not_load_the_user(client, login_as, count_queries):
    login_as("resident")
    with count_queries() as counter:
        response = client.get("/static/css/portal.css")
    assert response.status_code == 200 and counter.count == 0
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_a_temporary_password_leads_to_the_password_page_first(client, world, login_as):
    """After an administrator's reset, every page but the password page, sign-out and the
    language switch leads to the password page."""
    from portal.core import staff_accounts

    staff_accounts.reset_staff_password(world.technician, "temporary-1", actor=world.admin)
    db.session.commit()
    login_as("technician", password="temporary-1")
    for path in ("/", "/repairs/", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/auth/password")
    assert client.get("/auth/password").status_code == 200
    assert client.get("/lang/en").location.endswith("/")
    assert client.post("/auth/logout").status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.location
