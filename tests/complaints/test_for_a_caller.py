"""Staff register a complaint for a caller from the unit page, choosing the unit and the
caller on the complaint form as on the repair form."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.blueprints.complaints.models import Complaint
from portal.core import clock
from portal.extensions import db


@pytest.fixture(autouse=True)
def noon():
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


def test_the_unit_page_leads_to_a_complaint_for_the_caller(client, world, login_as):
    login_as("frontdesk")
    unit_page = client.get(f"/units/{world.unit.id}")
    assert 'data-testid="repair-for-unit"' in unit_page.text
    assert 'data-testid="complaint-for-unit"' in unit_page.text and "登记投诉" in unit_page.text
    assert f'href="/complaints/new?unit={world.unit.id}"' in unit_page.text
    form = client.get(f"/complaints/new?unit={world.unit.id}")
    assert form.status_code == 200
    # The unit and its residents are offered; the caller is labelled as a complainant.
    assert 'name="unit"' in form.text and 'name="reporter"' in form.text
    assert f'value="{world.resident.id}"' in form.text
    assert '<label class="form-label" for="reporter">投诉人</label>' in form.text
    registered = client.post(
        f"/complaints/new?unit={world.unit.id}",
        data={
            "kind": "complaint",
            "category": "neighbours_noise",
            "content": "楼上深夜噪音",
            "unit": str(world.unit.id),
            "reporter": str(world.resident.id),
            "channel": "walk_in",
        },
    )
    assert registered.status_code == 302
    complaint = db.session.scalar(select(Complaint))
    assert (complaint.unit_id, complaint.reporter_id) == (world.unit.id, world.resident.id)
    assert complaint.channel == "walk_in" and complaint.owner_id == world.frontdesk.id


def test_without_a_unit_the_form_says_how_to_register_for_a_caller(client, world, login_as):
    login_as("frontdesk")
    page = client.get("/complaints/new")
    assert page.status_code == 200 and 'data-testid="choose-unit-hint"' in page.text
    assert 'name="reporter"' not in page.text


def test_residents_see_no_register_buttons(client, world, login_as):
    login_as("resident")
    page = client.get(f"/units/{world.unit.id}")
    assert 'data-testid="complaint-for-unit"' not in page.text
