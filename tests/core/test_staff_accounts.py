"""Staff accounts (issue 13, point 14): no role preselected for a new account; an administrator
deactivates (signing out at once), reactivates, gives another role and resets the password of
a staff account, each change audited and CSRF-protected, never locking the company out."""

import re

import pytest
from sqlalchemy import select

from portal.core import staff_accounts
from portal.core.audit import AuditEntry
from portal.core.errors import ServiceError
from portal.core.people import Role, User
from portal.extensions import db


def audited(action, user):
    return db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == action,
            AuditEntry.entity_type == "users",
            AuditEntry.entity_id == user.id,
        )
    ).all()


def role_options(body: str) -> list[str]:
    select_html = re.search(r'<select[^>]*name="role".*?</select>', body, re.S).group(0)
    return re.findall(r"<option[^>]*>", select_html)


def test_a_new_account_has_no_role_chosen_for_it(client, login_as):
    login_as("admin")
    body = client.get("/admin/users").get_data(as_text=True)
    options = role_options(body)
    assert 'value=""' in options[0]  # "choose a role" comes first …
    assert not any("selected" in o for o in options)  # … and nothing is preselected
    assert 'value="admin"' not in options[1]  # the administrator is not the first role either
    response = client.post(
        "/admin/users",
        data={"username": "newclerk", "name": "新员工", "estate": "0", "password": "a-secret-1"},
    )
    assert response.status_code == 400
    assert 'data-field="role"' in response.get_data(as_text=True)
    assert "请选择角色。" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "newclerk")) is None


def test_the_staff_list_names_people_with_the_person_context(client, login_as):
    login_as("admin")
    client.set_cookie("portal_lang", "en")
    body = client.get("/admin/users").get_data(as_text=True)
    assert "<th>Name</th>" in body and 'href="/admin/users/' in body


def test_deactivation_signs_out_at_once_and_stops_tokens(app, client, world, login_as, api_token):
    desk = app.test_client()
    login_as("frontdesk", c=desk)
    token = api_token("frontdesk")
    assert desk.get("/").status_code == 200
    login_as("admin")
    response = client.post(f"/admin/users/{world.frontdesk.id}/deactivate")
    assert response.status_code == 302
    assert not db.session.get(User, world.frontdesk.id).is_active
    assert desk.get("/").status_code == 302  # the open session ended
    assert client.get("/api/v1/me", headers=token).status_code == 401
    stranger = app.test_client()
    refused = stranger.post("/auth/login", data={"login": "frontdesk", "password": "portal-demo"})
    assert refused.status_code == 401
    (entry,) = audited("user.deactivate", world.frontdesk)
    assert entry.actor_id == world.admin.id
    page = client.get(f"/admin/users/{world.frontdesk.id}").get_data(as_text=True)
    assert "已停用" in page

    assert client.post(f"/admin/users/{world.frontdesk.id}/reactivate").status_code == 302
    assert db.session.get(User, world.frontdesk.id).is_active
    assert audited("user.reactivate", world.frontdesk)
    assert client.get("/api/v1/me", headers=token).status_code == 401  # revoked for good
    login_as("frontdesk", c=stranger)  # the password works again
    assert stranger.get("/").status_code == 200


def test_an_administrator_cannot_deactivate_or_demote_themselves(client, world, login_as):
    login_as("admin")
    response = client.post(f"/admin/users/{world.admin.id}/deactivate")
    assert response.status_code == 302
    assert db.session.get(User, world.admin.id).is_active
    assert "不能停用自己的账号。" in client.get(response.location).get_data(as_text=True)
    demote = client.post(
        f"/admin/users/{world.admin.id}/role", data={"role": "manager", "estate": "0"}
    )
    assert demote.status_code == 400
    assert "不能变更自己的角色。" in demote.get_data(as_text=True)
    assert db.session.get(User, world.admin.id).role == Role.admin
    assert not audited("user.deactivate", world.admin)
    assert not audited("user.role_change", world.admin)


def test_the_last_active_administrator_stays(world):
    with pytest.raises(ServiceError) as deactivating:
        staff_accounts.deactivate_staff(world.admin, actor=world.manager)
    assert deactivating.value.fields == {"user": "last_admin"}
    with pytest.raises(ServiceError):
        staff_accounts.change_staff_role(world.admin, "manager", estate=None, actor=world.manager)
    assert world.admin.is_active and world.admin.role == Role.admin
    # With a second active administrator, either may close the other's account.
    from tests.factories import make_staff

    second = make_staff("admin", None, username="admin2", company=world.company)
    staff_accounts.deactivate_staff(world.admin, actor=second)
    assert not world.admin.is_active
    with pytest.raises(ServiceError):
        staff_accounts.deactivate_staff(second, actor=None)


def test_a_role_change_signs_the_account_out_and_is_audited(app, client, world, login_as):
    desk = app.test_client()
    login_as("frontdesk", c=desk)
    assert desk.get("/reports/cash").status_code == 200
    login_as("admin")
    response = client.post(
        f"/admin/users/{world.frontdesk.id}/role",
        data={"role": "technician", "estate": str(world.estate.id)},
    )
    assert response.status_code == 302
    assert db.session.get(User, world.frontdesk.id).role == Role.technician
    assert desk.get("/reports/cash").status_code == 302  # the role change ended the session
    (entry,) = audited("user.role_change", world.frontdesk)
    assert entry.before["role"] == "frontdesk" and entry.after["role"] == "technician"
    # A role bound to an estate needs one.
    missing = client.post(
        f"/admin/users/{world.frontdesk.id}/role", data={"role": "supervisor", "estate": "0"}
    )
    assert missing.status_code == 400 and 'data-field="estate"' in missing.get_data(as_text=True)
    unchosen = client.post(
        f"/admin/users/{world.frontdesk.id}/role", data={"role": "", "estate": "0"}
    )
    assert unchosen.status_code == 400 and 'data-field="role"' in unchosen.get_data(as_text=True)


def test_a_reset_password_is_shown_once_and_must_be_replaced(
    app, client, world, login_as, api_token
):
    desk = app.test_client()
    login_as("frontdesk", c=desk)
    token = api_token("frontdesk")
    login_as("admin")
    response = client.post(f"/admin/users/{world.frontdesk.id}/password", data={"password": ""})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    password = re.search(
        r'data-testid="temporary-password".*?<code[^>]*>([^<]+)</code>', body, re.S
    )
    password = password.group(1)
    assert len(password) >= 8
    assert password not in client.get(f"/admin/users/{world.frontdesk.id}").get_data(as_text=True)
    assert desk.get("/").status_code == 302  # signed out everywhere
    assert client.get("/api/v1/me", headers=token).status_code == 401
    (entry,) = audited("user.password_reset", world.frontdesk)
    assert password not in str(entry.before) + str(entry.after)

    fresh = app.test_client()
    old = fresh.post("/auth/login", data={"login": "frontdesk", "password": "portal-demo"})
    assert old.status_code == 401
    login_as("frontdesk", password=password, c=fresh)
    blocked = fresh.get("/repairs/")
    assert blocked.status_code == 302 and blocked.location.endswith("/auth/password")
    changed = fresh.post(
        "/auth/password",
        data={
            "current_password": password,
            "new_password": "my-own-secret",
            "confirm": "my-own-secret",
        },
    )
    assert changed.status_code == 302
    assert fresh.get("/repairs/").status_code == 200
    fresh.post("/auth/logout")
    login_as("frontdesk", password="my-own-secret", c=fresh)
    assert fresh.get("/repairs/").status_code == 200  # no second change asked for


def test_an_administrator_may_set_the_temporary_password(client, world, login_as):
    login_as("admin")
    short = client.post(f"/admin/users/{world.frontdesk.id}/password", data={"password": "short"})
    assert short.status_code == 400 and 'data-field="password"' in short.get_data(as_text=True)
    chosen = client.post(
        f"/admin/users/{world.frontdesk.id}/password", data={"password": "given-by-admin"}
    )
    assert chosen.status_code == 200 and "given-by-admin" in chosen.get_data(as_text=True)
    # Nor does the API hand out a token for it: its owner chooses their own on the web first.
    refused = client.post(
        "/api/v1/auth/token", json={"username": "frontdesk", "password": "given-by-admin"}
    )
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["error"]["fields"] == {"password": "must_change"}
    assert client.post("/auth/logout").status_code == 302
    assert (
        client.post(
            "/auth/login", data={"login": "frontdesk", "password": "given-by-admin"}
        ).status_code
        == 302
    )


@pytest.fixture
def csrf_after_sign_in(app, client, login_as):
    """An administrator signed in, then CSRF checked as in production."""
    login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    yield client
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.mark.parametrize("action", ["deactivate", "reactivate", "role", "password"])
def test_every_account_change_needs_the_csrf_token(world, csrf_after_sign_in, action):
    client = csrf_after_sign_in
    data = {"role": "technician", "estate": str(world.estate.id), "password": "x-secret-99"}
    response = client.post(f"/admin/users/{world.frontdesk.id}/{action}", data=data)
    assert response.status_code == 400
    user = db.session.get(User, world.frontdesk.id)
    assert user.is_active and user.role == Role.frontdesk
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.entity_id == user.id)) is None


def test_the_account_page_forms_carry_their_token(world, csrf_after_sign_in):
    client = csrf_after_sign_in
    page = client.get(f"/admin/users/{world.frontdesk.id}").get_data(as_text=True)
    form = re.search(r'action="/admin/users/\d+/deactivate".*?</form>', page, re.S).group(0)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    response = client.post(
        f"/admin/users/{world.frontdesk.id}/deactivate", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert not db.session.get(User, world.frontdesk.id).is_active


def test_accounts_outside_the_company_and_residents_are_not_found(client, world, login_as):
    from tests.factories import make_other_company

    other = make_other_company()
    db.session.commit()
    login_as("admin")
    for user in (other.admin, other.frontdesk, world.resident):
        assert client.get(f"/admin/users/{user.id}").status_code == 404
        assert client.post(f"/admin/users/{user.id}/deactivate").status_code == 404
    assert db.session.get(User, other.frontdesk.id).is_active


def test_only_administrators_manage_accounts(client, world, login_as):
    login_as("manager")
    assert client.get(f"/admin/users/{world.frontdesk.id}").status_code == 403
    assert client.post(f"/admin/users/{world.frontdesk.id}/deactivate").status_code == 403
    assert db.session.get(User, world.frontdesk.id).is_active
