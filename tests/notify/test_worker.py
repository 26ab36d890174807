"""`flask worker` runs its jobs in its own process (RQ's SimpleWorker), on one app and one
database engine made at its start: each job gets a fresh session, a job's time limit still
stops it, and a delivery batch stopped so hands back what it had not finished."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker, Worker
from rq.job import Job, JobStatus
from sqlalchemy import select, text

from portal.blueprints.notices.services import compose_notice
from portal.extensions import db
from portal.notify import tasks
from portal.notify.models import Delivery, OutboxMessage
from portal.notify.outbox import relay_due
from portal.worker import app_worker_class
from tests.conftest import without_faketime

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


def worker_state() -> dict:
    """A job: the process it runs in, the engine it uses, and what the job before it left
    behind (a checked-out connection, an open transaction, loaded rows)."""
    left = {
        "checked_out": db.engine.pool.checkedout(),
        "in_transaction": db.session().in_transaction(),
        "loaded": len(db.session.identity_map),
    }
    db.session.scalar(text("SELECT 1"))
    return {"pid": os.getpid(), "engine": id(db.engine), **left}


def load_rows_and_leave_open() -> int:
    """A job that loads rows and leaves its transaction open (a careless job)."""
    return len(db.session.scalars(select(OutboxMessage)).all()) + 1


def sleep_in_database(seconds: int) -> None:
    """A job that runs longer than its time limit, waiting on the database."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
    else:
        time.sleep(seconds)


def run_flask_worker(database_url, redis_url, *args) -> tuple[int, float]:
    """Run `flask worker --burst` until the queue is empty; its pid and how long it ran."""
    env = without_faketime(
        DATABASE_URL=database_url, REDIS_URL=redis_url, PORTAL_SECRET_KEY="worker-test"
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [str(FLASK), "--app", "portal", "worker", "--burst", "--no-cron", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return process.pid, time.monotonic() - started


def test_flask_worker_uses_the_worker_that_does_not_fork(app):
    assert issubclass(app_worker_class(app), SimpleWorker)
    assert not issubclass(app_worker_class(app), Worker)
    assert issubclass(app_worker_class(app, fork=True), Worker)  # `flask worker --fork`


def test_jobs_run_in_the_worker_process_on_one_engine_with_a_fresh_session_each(
    app, database_url, redis_url, redis_client
):
    queue = Queue("default", connection=redis_client)
    first = queue.enqueue(worker_state, result_ttl=60)
    careless = queue.enqueue(load_rows_and_leave_open, result_ttl=60)
    after = queue.enqueue(worker_state, result_ttl=60)
    pid, _seconds = run_flask_worker(database_url, redis_url)
    states = [Job.fetch(j.id, connection=redis_client).return_value() for j in (first, after)]
    assert Job.fetch(careless.id, connection=redis_client).get_status() == JobStatus.FINISHED
    assert [s["pid"] for s in states] == [pid, pid]  # no work horse: the worker's own pid
    assert states[0]["engine"] == states[1]["engine"]  # made once per worker process
    # The careless job's session was removed when it ended: nothing carries over.
    assert states[1] == {**states[1], "checked_out": 0, "in_transaction": False, "loaded": 0}


def test_the_forking_worker_is_still_there_for_the_comparison(
    app, database_url, redis_url, redis_client
):
    job = Queue("default", connection=redis_client).enqueue(worker_state, result_ttl=60)
    pid, _seconds = run_flask_worker(database_url, redis_url, "--fork")
    assert Job.fetch(job.id, connection=redis_client).return_value()["pid"] != pid


def test_a_job_over_its_time_limit_is_stopped_and_the_worker_goes_on(
    app, database_url, redis_url, redis_client
):
    """The limit is RQ's SIGALRM in the worker's own thread: it stops a job waiting on the
    database, and the next job finds a working connection."""
    queue = Queue("default", connection=redis_client)
    slow = queue.enqueue(sleep_in_database, 20, job_timeout=1, result_ttl=60)
    after = queue.enqueue(worker_state, result_ttl=60)
    pid, _seconds = run_flask_worker(database_url, redis_url)
    slow = Job.fetch(slow.id, connection=redis_client)
    assert slow.get_status() == JobStatus.FAILED
    assert (slow.ended_at - slow.started_at).total_seconds() < 10  # not the 20 s it asked for
    assert "JobTimeoutException" in slow.latest_result().exc_string
    state = Job.fetch(after.id, connection=redis_client).return_value()
    assert state["pid"] == pid and state["checked_out"] == 0


@pytest.fixture
def in_process_worker(app, redis_client, redis_url, monkeypatch):
    """The portal's worker class, run here in burst mode on the run's Redis; the signal
    handlers RQ installs are put back afterwards."""
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    queue = Queue("default", connection=redis_client)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}

    class QuietWorker(app_worker_class(app)):
        def subscribe(self):
            """No command channel here: its thread's timed join never ends under faketime."""

    def work():
        worker = QuietWorker([queue], connection=redis_client)
        try:
            worker.work(burst=True)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        return worker

    yield queue, work


def test_a_delivery_batch_over_its_time_limit_hands_back_what_it_had_not_finished(
    app, world, sms_gateway, in_process_worker, monkeypatch
):
    """The gateway hangs on the first SMS; the batch's time limit stops the job in the
    worker's own process: the SMS in flight waits for the stale sweep (it may have gone),
    the others go back to the relay at once and are delivered by the next batch."""
    queue, work = in_process_worker
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", sms_gateway.url)
    monkeypatch.setattr(tasks, "BATCH_TIMEOUT", 1)
    sms_gateway.hang_first = True
    compose_notice(
        world.frontdesk, estate=world.estate, title="停水通知", body="明日停水。", channels=["sms"]
    )
    db.session.commit()
    ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
    assert len(ids) == 3
    relay_due()
    (batch,) = queue.jobs
    work()  # the batch, stopped after 1 s; then the relay and the next batch
    sms_gateway.release.set()
    batch = Job.fetch(batch.id, connection=queue.connection)
    assert batch.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in batch.latest_result().exc_string
    db.session.expire_all()
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts)
    ).all()
    assert {row.id: (row.status, row.attempts) for row in rows} == {
        ids[0]: (Delivery.queued, 0),  # in flight when stopped (not by the socket's timeout):
        ids[1]: (Delivery.delivered, 1),  # … left to the sweep, a stale time later
        ids[2]: (Delivery.delivered, 1),
    }
    assert [m["id"] for m in sms_gateway.received] == [str(i) for i in ids]
