"""Job rows: run once, record failures, and the one list of periodic jobs."""

import pytest
from werkzeug.utils import import_string

from portal.extensions import db
from portal.jobs import JOB_FUNCTIONS, Job, JobStatus, run_job
from portal.schedule import PERIODIC


def test_a_job_runs_once_even_if_started_twice(world, monkeypatch):
    calls = []
    monkeypatch.setitem(JOB_FUNCTIONS, "probe", "tests.core.test_jobs.probe_job")
    monkeypatch.setattr("tests.core.test_jobs.CALLS", calls)
    job = Job(kind="probe", estate_id=world.estate.id)
    db.session.add(job)
    db.session.commit()
    assert run_job(job.id) == "finished"
    assert run_job(job.id) == JobStatus.finished
    assert calls == [job.id]
    db.session.refresh(job)
    assert (job.status, job.progress) == (JobStatus.finished, 100)


def test_a_failing_job_records_its_error(world, monkeypatch):
    monkeypatch.setitem(JOB_FUNCTIONS, "broken", "tests.core.test_jobs.broken_job")
    job = Job(kind="broken")
    db.session.add(job)
    db.session.commit()
    assert run_job(job.id) == "failed"
    db.session.refresh(job)
    assert job.status == JobStatus.failed and "paper jam" in job.error


@pytest.mark.parametrize("periodic", PERIODIC, ids=lambda p: p.func)
def test_every_periodic_job_exists_and_has_a_schedule(periodic):
    assert callable(import_string(periodic.func))
    assert bool(periodic.interval) != bool(periodic.cron)


def test_every_job_kind_names_a_function():
    for path in JOB_FUNCTIONS.values():
        assert callable(import_string(path))


CALLS = []


def probe_job(job):
    CALLS.append(job.id)


def broken_job(job):
    raise RuntimeError("paper jam")
