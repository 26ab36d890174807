"""Stronger staff sign-in (issue 14, point 7): two-step sign-in with an authenticator app
(TOTP) and recovery codes, an administrator's requirement for managers and administrators,
and sessions that end when an account is deactivated or its role changes.

Codes are computed here from the frozen portal clock, as the app on a phone would."""

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from portal.core import clock, settings
from portal.core import second_factor as two_step
from portal.core.audit import AuditEntry
from portal.core.people import User
from portal.extensions import db

SETUP = "/auth/second-factor"
CHECK = "/auth/second-factor/check"
OFF = "/auth/second-factor/off"
PASSWORD = "portal-demo"


def audited(action, user):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action, AuditEntry.entity_id == user.id)
    ).all()


def code_now(secret, *, seconds=0):
    """The code an authenticator app shows `seconds` from the portal's now."""
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=seconds))


def tick(seconds=30):
    """Let the portal clock move on (a code once used is not accepted again)."""
    clock.freeze(clock.now() + timedelta(seconds=seconds))


def turn_on(client):
    """Set up two-step sign-in for a signed-in client; returns (secret, recovery codes)."""
    page = client.get(SETUP)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    secret = re.search(r'data-testid="second-factor-secret">([A-Z2-7]+)<', body).group(1)
    done = client.post(SETUP, data={"code": code_now(secret)})
    assert done.status_code == 200, done.get_data(as_text=True)
    codes = re.findall(r'<code class="fs-5">([a-z2-9]{5}-[a-z2-9]{5})</code>', done.get_data(True))
    return secret, codes


def password_step(client, username, password=PASSWORD, next_=None):
    url = "/auth/login" + (f"?next={next_}" if next_ else "")
    return client.post(url, data={"login": username, "password": password})


@pytest.fixture
def require(world):
    """An administrator requires two-step sign-in of managers and administrators."""
    settings.set_value(two_step.REQUIRED.key, 1, actor=world.admin)
    db.session.commit()


def test_setting_up_shows_the_qr_code_and_recovery_codes_once(client, world, login_as):
    login_as("frontdesk")
    page = client.get(SETUP).get_data(as_text=True)
    assert "<svg" in page and 'class="segno"' in page  # the QR code, drawn inline
    uri = re.search(r'data-testid="second-factor-uri">([^<]+)<', page).group(1)
    assert uri.startswith("otpauth://totp/") and "frontdesk" in uri
    secret = re.search(r'data-testid="second-factor-secret">([A-Z2-7]+)<', page).group(1)
    assert f"secret={secret}" in uri.replace("&amp;", "&")
    # Reloading keeps the secret the app has scanned.
    assert secret in client.get(SETUP).get_data(as_text=True)

    wrong = client.post(SETUP, data={"code": "000000" if code_now(secret) != "000000" else "1"})
    assert wrong.status_code == 400
    assert 'data-field="code"' in wrong.get_data(as_text=True)
    assert not two_step.is_enabled(world.frontdesk)

    done = client.post(SETUP, data={"code": code_now(secret)})
    assert done.status_code == 200
    codes = re.findall(r'<code class="fs-5">([a-z2-9]{5}-[a-z2-9]{5})</code>', done.get_data(True))
    assert len(set(codes)) == 10
    assert two_step.is_enabled(world.frontdesk)
    factor = two_step.factor_of(world.frontdesk)
    assert not set(codes) & set(factor.recovery_hashes)  # only their hashes are kept
    (entry,) = audited("user.second_factor_on", world.frontdesk)
    assert entry.actor_id == world.frontdesk.id
    # Never shown again: neither the secret nor the codes.
    again = client.get(SETUP).get_data(as_text=True)
    assert 'data-testid="second-factor-on"' in again
    assert secret not in again and not any(c in again for c in codes)


def test_sign_in_asks_for_the_code_before_the_session_starts(app, client, world, login_as):
    login_as("frontdesk")
    secret, _ = turn_on(client)
    tick()
    fresh = app.test_client()
    first = password_step(fresh, "frontdesk", next_="/repairs/")
    assert first.status_code == 302 and first.location.endswith(CHECK)
    assert fresh.get("/repairs/").status_code == 302  # not signed in yet
    assert fresh.get("/api/v1/me").status_code == 401
    ask = fresh.get(CHECK)
    assert ask.status_code == 200 and 'name="code"' in ask.get_data(as_text=True)

    wrong = fresh.post(CHECK, data={"code": "12345x"})
    assert wrong.status_code == 401
    body = wrong.get_data(as_text=True)
    assert 'data-field="code"' in body and "代码错误或已过期" in body
    assert fresh.get("/repairs/").status_code == 302

    done = fresh.post(CHECK, data={"code": code_now(secret)})
    assert done.status_code == 302 and done.location.endswith("/repairs/")
    assert fresh.get("/repairs/").status_code == 200
    # The same code is not accepted twice, even within its 30 seconds.
    other = app.test_client()
    password_step(other, "frontdesk")
    assert other.post(CHECK, data={"code": code_now(secret)}).status_code == 401


def test_a_code_of_the_step_before_or_after_still_counts(app, client, world, login_as):
    login_as("frontdesk")
    secret, _ = turn_on(client)
    tick(90)
    fresh = app.test_client()
    password_step(fresh, "frontdesk")
    assert fresh.post(CHECK, data={"code": code_now(secret, seconds=-60)}).status_code == 401
    assert fresh.post(CHECK, data={"code": code_now(secret, seconds=-30)}).status_code == 302


def test_five_wrong_codes_end_the_pending_sign_in(app, client, world, login_as):
    login_as("frontdesk")
    secret, _ = turn_on(client)
    tick()
    fresh = app.test_client()
    password_step(fresh, "frontdesk")
    bad = "000000" if code_now(secret) != "000000" else "111111"
    for left in (4, 3, 2, 1):
        answer = fresh.post(CHECK, data={"code": bad})
        assert answer.status_code == 401
        assert f"还可尝试 {left} 次" in answer.get_data(as_text=True)
    fifth = fresh.post(CHECK, data={"code": bad})
    assert fifth.status_code == 302 and fifth.location.endswith("/auth/login")
    # The right code no longer helps: the password step comes first again.
    late = fresh.post(CHECK, data={"code": code_now(secret)})
    assert late.status_code == 302 and late.location.endswith("/auth/login")
    assert fresh.get("/repairs/").status_code == 302


def test_wrong_codes_count_against_the_sign_in_limits(app, client, world, login_as, monkeypatch):
    login_as("frontdesk")
    secret, _ = turn_on(client)
    tick()
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per 15 minutes"
    app.config["LOGIN_RATE_LIMIT"] = "100 per 5 minutes"
    try:
        fresh = app.test_client()
        password_step(fresh, "frontdesk")
        bad = "000000" if code_now(secret) != "000000" else "111111"
        for _ in range(3):
            assert fresh.post(CHECK, data={"code": bad}).status_code == 401
        blocked = fresh.post(CHECK, data={"code": code_now(secret)})
        assert blocked.status_code == 429
        assert 'data-testid="rate-limited"' in blocked.get_data(as_text=True)
        # The password step of that account shares the budget.
        assert password_step(fresh, "frontdesk").status_code == 429
    finally:
        app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "10 per 15 minutes"
        app.config["LOGIN_RATE_LIMIT"] = "10 per 5 minutes"


def test_the_pending_sign_in_is_short_lived_and_ends_with_the_session_version(
    app, client, world, login_as
):
    login_as("frontdesk")
    secret, _ = turn_on(client)
    tick()
    fresh = app.test_client()
    password_step(fresh, "frontdesk")
    tick(6 * 60)
    late = fresh.post(CHECK, data={"code": code_now(secret)})
    assert late.status_code == 302 and late.location.endswith("/auth/login")
    # A password change in between (sessions revoked) ends a pending sign-in too.
    tick()
    password_step(fresh, "frontdesk")
    user = db.session.get(User, world.frontdesk.id)
    user.session_version += 1
    db.session.commit()
    revoked = fresh.post(CHECK, data={"code": code_now(secret)})
    assert revoked.status_code == 302 and revoked.location.endswith("/auth/login")


def test_a_recovery_code_signs_in_once_and_is_audited(app, client, world, login_as):
    login_as("frontdesk")
    _, codes = turn_on(client)
    fresh = app.test_client()
    password_step(fresh, "frontdesk")
    done = fresh.post(CHECK, data={"code": codes[0].upper().replace("-", " ")})
    assert done.status_code == 302
    assert fresh.get("/repairs/").status_code == 200
    (entry,) = audited("user.recovery_code_use", world.frontdesk)
    assert entry.after == {"left": 9}
    again = app.test_client()
    password_step(again, "frontdesk")
    assert again.post(CHECK, data={"code": codes[0]}).status_code == 401
    assert again.post(CHECK, data={"code": codes[1]}).status_code == 302


def test_turning_off_needs_a_current_code(app, client, world, login_as):
    login_as("frontdesk")
    secret, _ = turn_on(client)
    tick()
    missing = client.post(OFF, data={"code": ""})
    assert missing.status_code == 400 and 'data-field="code"' in missing.get_data(as_text=True)
    bad = "000000" if code_now(secret) != "000000" else "111111"
    wrong = client.post(OFF, data={"code": bad})
    assert wrong.status_code == 400 and 'data-field="code"' in wrong.get_data(as_text=True)
    assert two_step.is_enabled(world.frontdesk)
    assert client.post(OFF, data={"code": code_now(secret)}).status_code == 302
    assert not two_step.is_enabled(world.frontdesk)
    assert audited("user.second_factor_off", world.frontdesk)
    # Signing in is one step again.
    fresh = app.test_client()
    assert password_step(fresh, "frontdesk").location.endswith("/")
    assert fresh.get("/repairs/").status_code == 200


def test_a_required_manager_sets_it_up_before_anything_else(app, client, world, require):
    manager = app.test_client()
    first = password_step(manager, "manager")
    assert first.status_code == 302
    page = manager.get("/repairs/")
    assert page.status_code == 302 and page.location.endswith(SETUP)
    assert manager.get("/admin/imports").location.endswith(SETUP)
    setup = manager.get(SETUP)
    assert setup.status_code == 200 and "管理员要求" in setup.get_data(as_text=True)
    secret = re.search(
        r'data-testid="second-factor-secret">([A-Z2-7]+)<', setup.get_data(as_text=True)
    ).group(1)
    assert manager.post(SETUP, data={"code": code_now(secret)}).status_code == 200
    assert manager.get("/repairs/").status_code == 200
    # Staff outside the two roles are not asked.
    desk = app.test_client()
    password_step(desk, "frontdesk")
    assert desk.get("/repairs/").status_code == 200
    # The next sign-in of the manager asks for the code.
    tick()
    again = app.test_client()
    assert password_step(again, "manager").location.endswith(CHECK)


def test_the_requirement_is_a_setting_on_the_settings_page(client, world, login_as):
    login_as("admin")
    listing = client.get("/admin/settings").get_data(as_text=True)
    assert "/admin/settings/auth.second_factor_required" in listing
    refused = client.post("/admin/settings/auth.second_factor_required", data={"value": "2"})
    assert refused.status_code == 400
    saved = client.post("/admin/settings/auth.second_factor_required", data={"value": "1"})
    assert saved.status_code == 302
    assert two_step.is_required(world.admin) and two_step.is_required(world.manager)
    assert not two_step.is_required(world.frontdesk)
    # The administrator who saved it is sent to set it up on their next sign-in.
    client.post("/auth/logout")
    password_step(client, "admin")
    assert client.get("/admin/users").location.endswith(SETUP)


def test_residents_have_no_two_step_sign_in_page(client, world, login_as):
    login_as("resident")
    assert client.get(SETUP).status_code == 403
    assert client.post(OFF, data={"code": "123456"}).status_code == 403


def test_a_role_change_ends_the_staff_members_sessions(app, client, world, login_as, api_token):
    desk = app.test_client()
    login_as("frontdesk", c=desk)
    token = api_token("frontdesk")
    assert desk.get("/repairs/").status_code == 200
    login_as("admin")
    response = client.post(
        f"/admin/users/{world.frontdesk.id}/role",
        data={"role": "supervisor", "estate": str(world.estate.id)},
    )
    assert response.status_code == 302
    assert desk.get("/repairs/").status_code == 302  # signed out
    assert client.get("/api/v1/me", headers=token).status_code == 401
    login_as("frontdesk", c=desk)  # signing in again gives the new role
    assert desk.get("/repairs/").status_code == 200


def test_deactivation_ends_the_sessions(app, client, world, login_as):
    desk = app.test_client()
    login_as("frontdesk", c=desk)
    assert desk.get("/repairs/").status_code == 200
    login_as("admin")
    assert client.post(f"/admin/users/{world.frontdesk.id}/deactivate").status_code == 302
    assert desk.get("/repairs/").status_code == 302


def test_a_deactivated_account_cannot_finish_a_pending_sign_in(app, client, world, login_as):
    login_as("frontdesk")
    secret, _ = turn_on(client)
    tick()
    fresh = app.test_client()
    password_step(fresh, "frontdesk")
    login_as("admin")
    client.post(f"/admin/users/{world.frontdesk.id}/deactivate")
    late = fresh.post(CHECK, data={"code": code_now(secret)})
    assert late.status_code == 302 and late.location.endswith("/auth/login")
    assert fresh.get("/repairs/").status_code == 302


def test_no_pending_sign_in_leads_back_to_the_password(client, world):
    for method in ("get", "post"):
        answer = getattr(client, method)(CHECK, data={"code": "123456"})
        assert answer.status_code == 302 and answer.location.endswith("/auth/login")


def test_the_token_check_asks_for_the_code_as_the_sign_in_page_does(client, world, login_as):
    """What POST /api/v1/auth/token calls after the password (portal/blueprints/api)."""
    from portal.core.errors import ServiceError

    two_step.check_for_token(world.frontdesk, None)  # no second factor: nothing to ask
    login_as("frontdesk")
    secret, codes = turn_on(client)
    tick()
    user = db.session.get(User, world.frontdesk.id)
    for given, reason in ((None, "required"), ("", "required"), ("12345", "wrong")):
        with pytest.raises(ServiceError) as refused:
            two_step.check_for_token(user, given)
        assert refused.value.status == 401 and refused.value.fields == {"otp": reason}
    two_step.check_for_token(user, code_now(secret))
    with pytest.raises(ServiceError):
        two_step.check_for_token(user, code_now(secret))  # used already
    two_step.check_for_token(user, codes[0])
    # A manager who must turn it on gets no token until it is on.
    settings.set_value(two_step.REQUIRED.key, 1, actor=world.admin)
    with pytest.raises(ServiceError) as setup_first:
        two_step.check_for_token(world.manager, None)
    assert setup_first.value.status == 403
    assert setup_first.value.fields == {"otp": "setup_required"}


def test_the_api_gives_a_token_only_with_the_code(client, world, login_as):
    login_as("frontdesk")
    secret, _codes = turn_on(client)
    tick()
    asked = {"username": "frontdesk", "password": PASSWORD}
    missing = client.post("/api/v1/auth/token", json=asked)
    assert missing.status_code == 401
    assert missing.get_json()["error"]["fields"] == {"otp": "required"}
    wrong = client.post("/api/v1/auth/token", json={**asked, "otp": "000000"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["fields"] == {"otp": "wrong"}
    right = client.post("/api/v1/auth/token", json={**asked, "otp": code_now(secret)})
    assert right.status_code == 200 and right.get_json()["token"]


def test_an_administrator_removes_a_lost_second_factor(app, client, world, login_as):
    desk = app.test_client()
    login_as("frontdesk", c=desk)
    turn_on(desk)
    tick()
    login_as("admin")
    page = client.get(f"/admin/users/{world.frontdesk.id}").get_data(as_text=True)
    assert f"/admin/users/{world.frontdesk.id}/second-factor" in page
    done = client.post(f"/admin/users/{world.frontdesk.id}/second-factor")
    assert done.status_code == 302
    assert not two_step.is_enabled(db.session.get(User, world.frontdesk.id))
    assert desk.get("/").status_code == 302  # signed out everywhere
    assert audited("user.second_factor_reset", world.frontdesk)
    # Not one's own (another administrator does it), and not for a manager.
    assert client.post(f"/admin/users/{world.admin.id}/second-factor").status_code == 400
    login_as("manager")
    assert client.post(f"/admin/users/{world.frontdesk.id}/second-factor").status_code == 403
