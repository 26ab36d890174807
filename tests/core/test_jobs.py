"""Job rows: run once, record failures; the one list of periodic jobs; the embedded runner."""

import threading
import time

import pytest
from sqlalchemy import select
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


def test_the_runner_runs_the_schedule_at_its_intervals(app):
    """The embedded mode's runner: every job of schedule.py, each in an app context."""
    from portal.jobs import Runner
    from portal.schedule import Periodic

    assert [p.func for p in Runner(app).periodic] == [p.func for p in PERIODIC]
    ticked = threading.Event()
    hourly = [Periodic("tests.core.test_jobs.tick", interval=3600)]
    TICKS.clear()
    TICKS.append(ticked)
    runner = Runner(app, periodic=hourly)
    runner.thread.start()
    try:
        assert ticked.wait(10), "the periodic job did not run"
        runner.wait_idle()
    finally:
        runner.stop()
    assert not runner.thread.is_alive()
    assert runner.next_run[0] > time.monotonic() + 3000  # not again before its hour is up


def test_in_embedded_mode_a_job_runs_off_the_request(tmp_path, monkeypatch):
    """The page answers at once with the job queued (its progress bar shows); the job
    finishes in the web process's background thread."""
    from flask_migrate import upgrade

    from portal import jobs
    from portal.blueprints.notices.services import compose_notice
    from tests.conftest import make_test_app
    from tests.factories import make_world

    app = make_test_app(f"sqlite:///{tmp_path}/embedded.sqlite3", JOBS_INLINE=False)
    with app.app_context():
        upgrade()
        world = make_world()
        notice = compose_notice(
            world.frontdesk, estate=world.estate, title="停水", body="停水。", channels=["print"]
        )
        db.session.commit()
        ids = notice.id, world.unit.building_id
    monkeypatch.setitem(JOB_FUNCTIONS, "notice_print", "tests.core.test_jobs.gated_job")
    GATE.clear()
    client = app.test_client()
    try:
        client.post("/auth/login", data={"login": "frontdesk", "password": "portal-demo"})
        response = client.post(f"/notices/{ids[0]}/print", data={"building": ids[1]})
        assert response.status_code == 302
        page = client.get(f"/notices/{ids[0]}").get_data(as_text=True)
        assert 'data-job-status="queued"' in page or 'data-job-status="running"' in page
        with app.app_context():
            job_id = db.session.scalar(select(Job.id))
        assert client.get(f"/api/v1/jobs/{job_id}").get_json()["status"] in ("queued", "running")
        GATE.set()
        jobs.runner(app).wait_idle()
        assert client.get(f"/api/v1/jobs/{job_id}").get_json()["status"] == "finished"
        second = make_test_app(f"sqlite:///{tmp_path}/embedded.sqlite3", JOBS_INLINE=False)
        assert jobs.runner(app) is jobs.runner(app)  # one runner per app and process
        assert jobs.runner(second).app is second  # another app's work runs in its context
    finally:
        GATE.set()
        jobs.stop_runner()
        with app.app_context():
            db.engine.dispose()


GATE = threading.Event()
TICKS: list = []


def gated_job(job):
    """A job that runs until the test opens the gate, holding its read transaction open the
    whole time, as a long PDF job does (the pages must still be able to write meanwhile)."""
    db.session.get(Job, job.id)
    assert GATE.wait(10), "the test never opened the gate"


def tick():
    TICKS[0].set()


def test_after_commit_hooks_wait_for_the_outermost_transaction(db_session):
    """A savepoint released inside a transaction that then rolls back fires nothing; a
    savepoint rolled back inside one that commits drops nothing."""
    from portal import jobs

    fired = []
    jobs.after_commit(lambda: fired.append("rolled back"), key="first")
    with db.session.begin_nested():
        pass
    db.session.rollback()
    jobs.run_committed()
    assert fired == []

    jobs.after_commit(lambda: fired.append("committed"), key="second")
    db.session.begin_nested().rollback()
    db.session.commit()
    jobs.run_committed()
    assert fired == ["committed"]
