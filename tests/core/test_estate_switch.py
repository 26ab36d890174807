"""The header's estate switcher: a company-wide user chooses the estate they act for."""

from sqlalchemy import select

from portal.core import access
from portal.core.places import Estate
from portal.extensions import db


def test_company_wide_user_acts_for_the_chosen_estate(client, world, login_as):
    login_as("admin")
    first, second = db.session.scalars(
        select(Estate).where(Estate.company_id == world.estate.company_id).order_by(Estate.id)
    ).all()[:2]
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="estate-switch"' in page
    assert f'<option value="{first.id}" selected>' in page  # the company's first by default

    response = client.post("/estate", data={"estate": second.id, "next": "/units/"})
    assert response.status_code == 303 and response.headers["Location"] == "/units/"
    page = client.get("/").get_data(as_text=True)
    assert f'<option value="{second.id}" selected>' in page


def test_switch_refuses_estates_outside_the_company_and_foreign_next(client, world, login_as):
    from tests.factories import make_estate

    login_as("admin")
    foreign = make_estate()  # another company's
    db.session.commit()
    assert client.post("/estate", data={"estate": foreign.id}).status_code == 404
    assert client.post("/estate", data={"estate": 2**31}).status_code == 400
    response = client.post("/estate", data={"estate": world.estate.id, "next": "//evil.test/"})
    assert response.headers["Location"] == "/"


def test_staff_of_one_estate_have_no_switcher(client, world, login_as):
    login_as("frontdesk")
    assert 'data-testid="estate-switch"' not in client.get("/").get_data(as_text=True)
    assert client.post("/estate", data={"estate": world.estate.id}).status_code == 403


def test_acting_estate_rule(world, app):
    """Named estate (404 outside scope), else the session's choice, else the first."""
    from werkzeug.exceptions import NotFound

    with app.test_request_context():
        assert access.acting_estate(world.frontdesk).id == world.estate.id
        assert access.acting_estate(world.resident).id == world.estate.id
        first = access.acting_estate(world.admin)
        assert first.id == min(e.id for e in access.estates_for(world.admin))
        for bad in (world.other.id, 2**31, -1):
            try:
                access.acting_estate(world.frontdesk, bad)
            except NotFound:
                continue
            raise AssertionError(f"estate {bad} was accepted")
