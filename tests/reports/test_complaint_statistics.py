"""Complaint statistics (投诉统计表) and the register: page, .xlsx and PDF, by month in the
estate's time zone."""

from datetime import UTC, datetime

import pytest

from portal.core import clock
from portal.extensions import db


@pytest.fixture(autouse=True)
def noon():
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


def test_statistics_page_xlsx_and_pdf(client, world, login_as, tmp_path):
    import io
    import subprocess

    from openpyxl import load_workbook

    from portal.blueprints.complaints.services import act, register_complaint

    for text in ("噪音一", "噪音二"):
        register_complaint(world.resident, category="neighbours_noise", content=text)
    other = register_complaint(world.resident2, category="fees", content="收费疑问")
    act(other, "assess", actor=world.frontdesk, data={"valid": True, "department": "财务部"})
    db.session.commit()
    login_as("manager")
    query = "?from=2026-11-01&to=2026-11-30"
    page = client.get(f"/reports/complaints{query}", headers={"Accept-Language": "en"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "财务部" in body
    assert "2026-11-23 12:00" in body  # registered 04:00 UTC: noon in the estate's zone
    repeated = body.split('data-testid="repeated-units"')[1].split("</table>")[0]
    assert "A区 1栋 1单元101" in repeated and ">2<" in repeated  # two complaints, flagged
    assert "2026-11" in body.split('data-testid="stats-by_month"')[1].split("</table>")[0]
    book = load_workbook(io.BytesIO(client.get(f"/reports/complaints.xlsx{query}").data))
    register = book.worksheets[0]
    assert register.max_row == 4 and register.cell(2, 7).value == "噪音一"
    # Registered at 04:00 UTC: noon in the estate's time zone (Asia/Shanghai).
    assert register.cell(2, 2).value == datetime(2026, 11, 23, 12, 0)
    assert register.cell(2, 4).value == "线上"  # the channel in words, not its code
    pdf = client.get(f"/reports/complaints.pdf{query}")
    path = tmp_path / "stats.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "投诉统计" in text or "Complaint statistics" in text
    assert "财务部" in text
    assert client.get("/reports/complaints?from=2026-12-01&to=2026-11-01").status_code == 400


def test_a_long_registers_pdf_is_printed_by_a_job(client, world, login_as, monkeypatch):
    """Past the threshold (lowered here to 1 row), the PDF is a job: the page shows its
    progress and the download; below it the PDF answers at once."""
    import subprocess

    from sqlalchemy import select

    from portal.blueprints.complaints.services import register_complaint
    from portal.blueprints.reports import printouts
    from portal.jobs import Job

    monkeypatch.setattr(printouts, "PDF_INLINE_MAX", 1)
    numbers = [
        register_complaint(world.resident, category="neighbours_noise", content=text).number
        for text in ("噪音一", "噪音二")
    ]
    db.session.commit()
    login_as("manager")
    query = "from=2026-11-01&to=2026-11-30"
    response = client.get(f"/reports/complaints.pdf?{query}")
    assert response.status_code == 302 and "/reports/complaints?" in response.location
    (job,) = db.session.scalars(select(Job)).all()
    assert job.kind == "complaint_report" and job.params == {
        "from": "2026-11-01",
        "to": "2026-11-30",
    }
    page = client.get(response.location).get_data(as_text=True)
    assert 'data-testid="complaint-pdf-jobs"' in page and f'href="/jobs/{job.id}/result"' in page
    pdf = client.get(f"/jobs/{job.id}/result")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True).stdout
    assert all(number in text.decode() for number in numbers)
    monkeypatch.setattr(printouts, "PDF_INLINE_MAX", 200)
    assert client.get(f"/reports/complaints.pdf?{query}").data.startswith(b"%PDF")
