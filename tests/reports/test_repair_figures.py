"""Repairs figures (维修统计): a page, an .xlsx and a PDF for supervisors, by category and
by technician, for the last 30 days of the estate by default."""

import io
from datetime import UTC, datetime

import pytest

from portal.blueprints.repairs.services import act, submit_repair
from portal.core import clock
from portal.extensions import db

EN = {"Accept-Language": "en"}


@pytest.fixture
def done(world):
    """A repair registered and completed on 20 November 2026 (estate time)."""
    clock.freeze(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    repair = submit_repair(world.resident, category="civil", location="unit", description="门")
    act(repair, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id})
    act(repair, "start", actor=world.technician)
    act(repair, "complete", actor=world.technician, data={"note": "修好"})
    db.session.commit()
    return repair


def test_page_xlsx_and_pdf(client, world, login_as, done):
    from openpyxl import load_workbook

    login_as("supervisor")
    clock.freeze(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 20 Nov is within the last 30 days
    page = client.get("/reports/repairs", headers=EN).get_data(as_text=True)
    row = page.split('data-testid="technician-row"')[1].split("</tr>")[0]
    assert world.technician.name in row and row.count("100.0%") == 2  # handled, on time
    book = load_workbook(io.BytesIO(client.get("/reports/repairs.xlsx", headers=EN).data))
    rows = [[c.value for c in r] for r in book.active.iter_rows()]
    technician = next(r for r in rows if r[0] == world.technician.name)
    assert technician[1:8] == [1, 1, 1.0, 1, 1.0, 0, 0.0]
    pdf = client.get("/reports/repairs.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    clock.freeze(datetime(2027, 1, 10, 2, 0, tzinfo=UTC))  # now it is older than 30 days
    later = client.get("/reports/repairs", headers=EN).get_data(as_text=True)
    assert 'data-testid="technician-row"' not in later
    assert client.get("/reports/repairs?from=2026-11-01&to=2026-13-01").status_code == 400


def test_only_supervisors_and_above(client, world, login_as, done):
    for username, status in (("frontdesk", 403), ("technician", 403), ("manager", 200)):
        login_as(username)
        assert client.get("/reports/repairs").status_code == status, username
