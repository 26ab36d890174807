"""Edges of resident and staff accounts found in review: a phone another estate's desk
registers, a second account under one phone, codes in other scripts' digits, the browser's
session on the API while a gate is due, a butler's zones after a change of role."""

from datetime import timedelta

from sqlalchemy import select

from portal.core import codes, settings
from portal.core import second_factor as two_step
from portal.core.access import zone_ids_of
from portal.core.errors import ServiceError
from portal.core.people import User
from portal.extensions import db
from tests.core.test_second_factor import PASSWORD, tick, turn_on
from tests.factories import make_resident, make_zone_butler


def test_another_estate_cannot_correct_the_phone_of_a_person_known_here(client, world, login_as):
    """The other estate's desk registers 陈家属's phone there; after she activates here, that
    desk may not change her phone (her login, where reset codes go)."""
    make_resident(world.other_unit, name="某人", phone=world.family.phone)
    db.session.commit()
    code = codes.issue(world.family, codes.ACTIVATE)
    codes.activate(world.family.phone, code, "green-bamboo-42")
    db.session.commit()
    family = db.session.get(User, world.family.id)
    assert {r.unit_id for r in family.residencies} == {world.unit.id}  # not merged across
    login_as("frontdesk_other")
    answer = client.patch(f"/api/v1/people/{world.family.id}", json={"phone": "13999999999"})
    assert answer.status_code in (403, 404)
    assert db.session.get(User, world.family.id).phone == "13800000002"


def test_a_letter_for_a_second_record_does_not_make_a_second_account(world):
    """resident2 has an account; a record of another estate under the same phone gets a
    letter: its code does not make a second account the phone could not sign in to."""
    other = make_resident(world.other_unit, name="林邻居", phone=world.resident2.phone)
    db.session.commit()
    letter = codes.issue(other, codes.ACTIVATE, valid_for=timedelta(days=30))
    try:
        codes.activate(world.resident2.phone, letter, "green-bamboo-42")
    except ServiceError as refused:
        assert refused.fields == {"phone": "has_account"}
    else:
        raise AssertionError("a second account under one phone")
    assert db.session.get(User, other.id).password_hash is None


def test_a_code_in_other_digits_is_a_wrong_code_not_a_server_error(client, world, login_as):
    login_as("frontdesk")
    turn_on(client)
    tick()
    answer = client.post(
        "/api/v1/auth/token",
        json={"username": "frontdesk", "password": PASSWORD, "otp": "١٢٣٤٥٦"},
    )
    assert answer.status_code == 401, answer.get_data(as_text=True)


def test_the_browser_session_reaches_no_api_data_while_a_gate_is_due(client, world, login_as):
    settings.set_value(two_step.REQUIRED.key, 1, actor=world.admin)
    db.session.commit()
    login_as("manager")
    assert client.get("/repairs/").location.endswith("/auth/second-factor")
    assert client.get("/api/v1/units").status_code == 403
    assert client.get("/api/v1/repairs").status_code == 403


def test_a_butler_made_something_else_and_back_gets_no_old_zones(app, world):
    from portal.core import staff_accounts

    butler = make_zone_butler(world, ("A区", "B区"))
    db.session.commit()
    assert len(zone_ids_of(butler)) == 2
    staff_accounts.change_staff_role(butler, "frontdesk", estate=world.estate, actor=world.admin)
    staff_accounts.change_staff_role(butler, "zone_butler", estate=world.estate, actor=world.admin)
    db.session.commit()
    butler = db.session.scalar(select(User).where(User.id == butler.id))
    assert zone_ids_of(butler) == []
