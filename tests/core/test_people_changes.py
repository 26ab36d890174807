"""The unit page: the desk adds residents, ends residencies, corrects phones and changes the
occupancy from a date; each change audited, history kept, bad input a message beside its
field with nothing stored."""

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.core import residents
from portal.core.audit import AuditEntry
from portal.core.errors import Conflict, ServiceError
from portal.core.people import Residency, User
from portal.core.places import UnitOccupancy
from portal.extensions import db

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def counts():
    return tuple(
        db.session.scalar(select(func.count(model.id)))
        for model in (User, Residency, UnitOccupancy, AuditEntry)
    )


def residency_of(user):
    return db.session.scalar(select(Residency).where(Residency.user_id == user.id))


def test_the_desk_sees_the_forms_others_do_not(client, world, login_as):
    for login in ("frontdesk", "supervisor", "manager", "admin"):
        login_as(login)
        page = client.get(f"/units/{world.unit.id}", headers=EN).get_data(as_text=True)
        assert 'data-testid="add-resident"' in page, login
        assert f'action="/units/{world.unit.id}/occupancy"' in page
        assert "End the residency" in page and "Correct the phone" in page
    for login in ("technician", "resident"):
        login_as(login)
        page = client.get(f"/units/{world.unit.id}").get_data(as_text=True)
        assert 'data-testid="add-resident"' not in page, login
        assert "/occupancy" not in page


def test_add_a_resident_from_the_page(client, world, login_as):
    login_as("frontdesk")
    response = client.post(
        f"/units/{world.unit2.id}/residents",
        data={
            "resident-name": "王租户",
            "resident-phone": "139-0000-2222",
            "resident-relation": "tenant",
            "resident-start_on": "2026-11-01",
        },
        headers=EN,
    )
    assert response.status_code == 303
    page = client.get(f"/units/{world.unit2.id}", headers=EN).get_data(as_text=True)
    assert "王租户" in page and "13900002222" in page and "2026-11-01" in page
    assert "王租户 is now registered in this unit." in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "residency.add"))
    assert entry.after["person"] == "王租户" and entry.estate_id == world.estate.id
    assert (entry.entity_type, entry.entity_id) == ("units", world.unit2.id)
    audit_page = login_as("manager").get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "Added a resident to a unit" in audit_page and "A区 1栋 2单元101" in audit_page
    # The details in words: the labelled fields and the relation's label, not their codes.
    details = audit_page.split('data-testid="audit-log"', 1)[1]
    assert "First day" in details and "Tenant" in details
    assert "start_on" not in details and ">tenant<" not in details


def test_another_persons_phone_is_a_message_beside_the_field(client, world, login_as):
    login_as("frontdesk")
    before = counts()
    response = client.post(
        f"/units/{world.unit2.id}/residents",
        data={
            "resident-name": "冒名者",
            "resident-phone": "13800000001",
            "resident-relation": "owner",
        },
        headers=ZH,
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'data-field="resident-phone"' in page
    assert "本小区中此电话号码属于陈业主" in page
    assert 'value="冒名者"' in page  # the input is kept
    assert counts() == before


def test_end_a_residency_keeps_it_in_the_history(client, world, login_as):
    login_as("supervisor")
    residency = residency_of(world.family)
    url = f"/units/{world.unit.id}/residents/{residency.id}/end"
    before = counts()
    early = client.post(url, data={f"end-{residency.id}-on": "2023-12-31"}, headers=EN)
    assert early.status_code == 400
    assert "A residency cannot end before it starts (2024-01-01)." in early.get_data(as_text=True)
    assert counts() == before
    assert client.post(url, data={f"end-{residency.id}-on": "2026-11-20"}).status_code == 303
    page = client.get(f"/units/{world.unit.id}").get_data(as_text=True)
    past = page[page.index('data-testid="past-residents"') :]
    assert "陈家属" in past and "2024-01-01 – 2026-11-20" in past
    db.session.expire_all()
    assert residency_of(world.family).end_on == date(2026, 11, 20)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "residency.end"))
    assert (entry.entity_type, entry.entity_id) == ("units", world.unit.id)
    assert entry.after == {"person": "陈家属", "end_on": "2026-11-20"}
    # Ended already: refused, nothing changes.
    again = client.post(url, data={f"end-{residency.id}-on": "2026-11-21"})
    assert again.status_code == 409


def test_correct_a_phone_keeps_the_old_one_in_the_audit(client, world, login_as):
    login_as("frontdesk")
    residency = residency_of(world.family)
    url = f"/units/{world.unit.id}/residents/{residency.id}/phone"
    response = client.post(url, data={f"phone-{residency.id}-phone": "137 0000 0009"})
    assert response.status_code == 303
    assert db.session.get(User, world.family.id).phone == "13700000009"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.phone"))
    assert entry.before == {"phone": "13800000002"} and entry.after == {"phone": "13700000009"}
    audit_page = login_as("manager").get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "Corrected a phone number" in audit_page
    login_as("frontdesk")
    before = counts()
    taken = client.post(url, data={f"phone-{residency.id}-phone": "13800000003"})
    assert taken.status_code == 409 and "林邻居" in taken.get_data(as_text=True)
    assert counts() == before


def test_change_the_occupancy_from_the_page(client, world, login_as):
    login_as("manager")
    url = f"/units/{world.unit.id}/occupancy"
    ok = client.post(
        url, data={"occupancy-occupancy": "vacant", "occupancy-effective_on": "2026-11-16"}
    )
    assert ok.status_code == 303
    page = client.get(f"/units/{world.unit.id}").get_data(as_text=True)
    history = page[page.index('data-testid="occupancy-history"') :]
    assert history.index("2026-11-16") < history.index("2024-01-01")
    before = counts()
    early = client.post(
        url,
        data={"occupancy-occupancy": "renovating", "occupancy-effective_on": "2026-11-01"},
        headers=ZH,
    )
    assert early.status_code == 400
    assert "房屋状态最近一次变更于 2026-11-16" in early.get_data(as_text=True)
    bad = client.post(url, data={"occupancy-occupancy": "nope", "occupancy-effective_on": "x"})
    assert bad.status_code == 400
    assert counts() == before


def test_forged_ids_and_bad_text(client, world, login_as):
    login_as("frontdesk")
    theirs = residency_of(world.resident2)  # of unit2, not unit
    before = counts()
    for url in (
        f"/units/{world.unit.id}/residents/{theirs.id}/end",
        f"/units/{world.unit.id}/residents/{theirs.id}/phone",
        f"/units/{world.other_unit.id}/residents",
        f"/units/{world.other_unit.id}/occupancy",
        f"/units/{2**31}/residents",
        f"/units/{world.unit.id}/residents/{2**31}/end",
        f"/units/{world.unit.id}/residents/99999999999999999999/phone",
    ):
        assert client.post(url, data={}).status_code == 404, url
    nul = client.post(
        f"/units/{world.unit.id}/residents",
        data={"resident-name": "某\x00人", "resident-phone": "13900000001"},
    )
    assert nul.status_code == 400
    assert counts() == before


def test_the_forms_carry_csrf(app, client, world, login_as):
    login_as("frontdesk")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(f"/units/{world.unit.id}").get_data(as_text=True)
        assert 'name="resident-csrf_token"' in page and 'name="occupancy-csrf_token"' in page
        response = client.post(
            f"/units/{world.unit.id}/residents",
            data={
                "resident-name": "某人",
                "resident-phone": "13900000001",
                "resident-relation": "owner",
            },
        )
        assert response.status_code == 400
        token = page.split('name="resident-csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post(
            f"/units/{world.unit.id}/residents",
            data={
                "resident-csrf_token": token,
                "resident-name": "某人",
                "resident-phone": "13900000001",
                "resident-relation": "owner",
            },
        )
        assert response.status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.scalar(select(func.count(User.id)).where(User.name == "某人")) == 1


def test_the_page_speaks_chinese(client, world, login_as):
    login_as("frontdesk")
    page = client.get(f"/units/{world.unit.id}", headers=ZH).get_data(as_text=True)
    for words in ("登记住户", "历史住户", "变更房屋状态", "更正电话", "结束入住", "起始日期"):
        assert words in page, words


def test_services_refuse_what_the_rules_forbid(world):
    with pytest.raises(Conflict):  # the same person twice in one unit at once
        residents.add_resident(
            world.unit, name="陈业主", phone="13800000001", relation="owner", actor=world.manager
        )
    with pytest.raises(ServiceError) as caught:
        residents.add_resident(
            world.unit, name="某人", phone="1380000000x", relation="owner", actor=world.manager
        )
    assert caught.value.fields == {"phone": "format"}
    # After the residency ended, the same person may come back from a later date.
    residency = residency_of(world.resident)
    residents.end_residency(residency, date(2026, 6, 30), actor=world.manager)
    again = residents.add_resident(
        world.unit,
        name="陈业主",
        phone="13800000001",
        relation="tenant",
        start_on=date(2026, 7, 1),
        actor=world.manager,
    )
    assert again.user_id == world.resident.id
