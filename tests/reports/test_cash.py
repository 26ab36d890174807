"""The daily cash report's PDF: a quiet day's answers at once; a busy day's is made by a job
(a progress bar on the page, then the download), so no web worker waits on WeasyPrint."""

import subprocess

import pytest
from sqlalchemy import select

from portal.blueprints.reports import cash, printouts
from portal.core import clock
from portal.extensions import db
from portal.jobs import Job, JobStatus
from tests.fees.helpers import pay


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


@pytest.fixture
def busy_day(world, monkeypatch):
    """Three payments today, and a threshold of two (a real one is 200 rows)."""
    monkeypatch.setattr(printouts, "PDF_INLINE_MAX", 2)
    payments = [pay(world, world.unit, 1000 + n, method="cash") for n in range(3)]
    db.session.commit()
    return payments


def test_a_quiet_days_pdf_answers_at_once(client, world, login_as):
    pay(world, world.unit, 3000, method="cash")
    db.session.commit()
    login_as("frontdesk")
    response = client.get("/reports/cash.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert db.session.scalars(select(Job)).all() == []
    assert printouts.PDF_INLINE_MAX <= 200


def test_a_busy_days_pdf_is_a_job_with_a_progress_bar_then_the_download(
    client, world, login_as, busy_day, monkeypatch
):
    monkeypatch.setattr(cash, "RECEIPTS_SHOWN", 1)  # the page shows one; the PDF all
    login_as("frontdesk")
    today = clock.local_today(world.estate.timezone)
    response = client.get("/reports/cash.pdf")
    assert response.status_code == 302
    assert response.location.startswith(f"/reports/cash?day={today.isoformat()}")
    (job,) = db.session.scalars(select(Job)).all()
    assert (job.kind, job.params, job.estate_id) == (
        "cash_report",
        {"day": str(today)},
        world.estate.id,
    )
    page = client.get(response.location)
    assert "共 3 笔收款：正在生成 PDF" in page.text
    assert f'data-testid="job-{job.id}"' in page.text and "data-job-url" in page.text
    assert f'href="/jobs/{job.id}/result"' in page.text  # the job ran (inline in tests)
    pdf = client.get(f"/jobs/{job.id}/result")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = pdf_text(pdf.data)
    assert all(p.receipt_number in text for p in busy_day)
    assert "target=" not in page.text.split('data-testid="cash-print"')[1].split(">")[0]


def test_another_estates_cashier_cannot_download_the_printout(client, world, login_as, busy_day):
    login_as("frontdesk")
    client.get("/reports/cash.pdf")
    (job,) = db.session.scalars(select(Job)).all()
    client.post("/auth/logout")
    login_as("frontdesk_other")
    assert client.get(f"/jobs/{job.id}/result").status_code == 404


def test_a_reload_while_the_pdf_is_made_starts_no_second_job(world):
    today = clock.local_today(world.estate.timezone)
    first = cash.start_cash_pdf(world.frontdesk, world.estate.id, today)
    assert cash.start_cash_pdf(world.frontdesk, world.estate.id, today) is first
    first.status = JobStatus.finished  # a finished printout may be out of date: print anew
    again = cash.start_cash_pdf(world.frontdesk, world.estate.id, today)
    assert again.id != first.id
    assert cash.cash_pdf_jobs(world.frontdesk, world.estate.id, today) == [again, first]
    assert cash.cash_pdf_jobs(world.manager, world.estate.id, today) == []
