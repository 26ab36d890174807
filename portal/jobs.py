"""The queue: RQ on Redis, or without REDIS_URL (the embedded mode) a background thread in
the web process; the after-commit hooks that hand work on; and job progress rows.

Everything that leaves a transaction — notices to deliver, jobs to start — is registered
with `after_commit()` and handed to `enqueue()` only once the transaction has committed.
Long work (batch PDFs, billing runs) is a Job row plus a queued `run_job(id)`. Jobs reload
their rows and are safe to run twice. `flask worker` lives in portal/worker.py.
"""

import logging
import os
import queue as queues
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import JSON, ForeignKey, String, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.utils import import_string

from portal.core import clock
from portal.core.access import visible
from portal.core.types import UTCDateTime
from portal.extensions import db

log = logging.getLogger(__name__)
QUEUE = "default"


# --- Redis: one pool per process ----------------------------------------------------------

_pools: dict[str, Any] = {}


def redis():
    """This process's Redis client for REDIS_URL, or None in the embedded mode.

    One pool per process; short timeouts and a single quick retry, so a request never
    waits on Redis (the worker makes its own, patient client: portal/worker.py).
    """
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import ConnectionPool, Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    pool = _pools.get(url)
    if pool is None:
        pool = _pools.setdefault(
            url,
            ConnectionPool.from_url(
                url, socket_connect_timeout=0.5, socket_timeout=2, retry=Retry(NoBackoff(), 1)
            ),
        )
    return Redis(connection_pool=pool)


def queue():
    """The RQ queue on this process's Redis pool, or None in the embedded mode."""
    connection = redis()
    if connection is None:
        return None
    from rq import Queue

    return Queue(QUEUE, connection=connection)


def enqueue(func: str, *args, **options) -> bool:
    """Hand `func(*args)` (a dotted path) to the queue: RQ, or the embedded runner.

    `options` are RQ's (job_id, job_timeout, result_ttl). False when Redis is unreachable:
    the work waits in the database for the periodic sweeps.
    """
    rq_queue = queue()
    if rq_queue is None:
        app = current_app._get_current_object()
        if app.config.get("JOBS_INLINE", app.testing):
            run_task(func, *args)  # tests: deterministic, in the caller's session
        else:
            runner(app).submit(func, *args)
        return True
    try:
        rq_queue.enqueue(func, *args, **options)
    except Exception as exc:
        log.warning("%s not queued, Redis unreachable: %s", func, exc)
        return False
    return True


def run_task(func: str, *args) -> Any:
    """Run one piece of queued work here, then fire what its commits registered."""
    try:
        return import_string(func)(*args)
    finally:
        run_committed()


# --- After commit ---------------------------------------------------------------------------

PENDING, COMMITTED = "after_commit", "committed"


def after_commit(hook: Callable[[], object], key=None) -> None:
    """Run `hook()` once the session's transaction has committed; a rollback drops it.

    Hooks fire at the end of the request (or job); the same hook (or key) fires once. Only
    the outermost transaction counts: a savepoint released or rolled back inside it neither
    fires nor drops the hooks waiting for it.
    """
    db.session.info.setdefault(PENDING, {})[key if key is not None else hook] = hook


@event.listens_for(Session, "after_commit")
def _committed(session):
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    pending = session.info.pop(PENDING, None)
    if pending:
        session.info.setdefault(COMMITTED, {}).update(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session):
    if session.in_nested_transaction():
        return  # only the savepoint's work is undone; the outer transaction goes on
    session.info.pop(PENDING, None)


def run_committed() -> None:
    """Fire the hooks of committed transactions (hooks may commit and register more)."""
    if not db.session.registry.has():
        return  # no session in this context: nothing was committed
    for _round in range(10):
        hooks = db.session.info.pop(COMMITTED, None)
        if not hooks:
            return
        for hook in hooks.values():
            try:
                hook()
            except Exception:
                db.session.rollback()
                log.exception("after-commit hook %r failed", hook)


def after_request(response):
    """After every request: hand on what it committed; keep the embedded runner going."""
    run_committed()
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL") and not app.config.get("JOBS_INLINE", app.testing):
        runner(app)
    return response


# --- Job rows -------------------------------------------------------------------------------


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    finished = "finished"
    failed = "failed"


class Job(db.Model):
    """A user-visible background job: what it is, how far it got, and its result file."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[JobStatus] = mapped_column(String(10), default=JobStatus.queued)
    progress: Mapped[int] = mapped_column(default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result_path: Mapped[str | None] = mapped_column(String(300))
    result_name: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(500))
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Every kind of job and the function run(job) that does its work: one explicit list.
JOB_FUNCTIONS: dict[str, str] = {
    "notice_print": "portal.blueprints.notices.printing.print_notice_for_building",
    "billing_run": "portal.blueprints.fees.billing.run_billing_job",
    "payment_slips": "portal.blueprints.fees.slips.print_slips",
    "cash_report": "portal.blueprints.reports.cash.print_cash_report",
    "complaint_report": "portal.blueprints.reports.complaints.print_complaint_report",
}


def visible_jobs(actor):
    """The SQL condition for jobs `actor` may see: their own, or (staff) their estates'."""
    mine = Job.created_by_id == actor.id
    if not actor.is_staff:
        return mine
    return or_(mine, visible(Job, actor))


def start_job(kind: str, *, actor, estate_id=None, **params) -> Job:
    """Create a job row; it is queued once the transaction commits."""
    if kind not in JOB_FUNCTIONS:
        raise ValueError(f"unknown job kind {kind}")
    job = Job(
        kind=kind, params=params, estate_id=estate_id, created_by_id=actor.id if actor else None
    )
    db.session.add(job)
    db.session.flush()
    after_commit(partial(queue_job, job.id), key=("job", job.id))
    return job


def queue_job(job_id: int) -> bool:
    """Hand a committed job to the queue (a job queued twice still runs once)."""
    return enqueue("portal.jobs.run_job", job_id, job_id=f"job-{job_id}", job_timeout=3600)


def run_job(job_id: int) -> str:
    """Run a job by id: claim it (queued → running, once), call its function, record the
    outcome. A job enqueued twice runs once."""
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.queued)
        .values(status=JobStatus.running, started_at=clock.now(), progress=0)
    ).rowcount
    db.session.commit()
    if not claimed:
        job = db.session.get(Job, job_id)
        return job.status if job else "missing"
    job = db.session.get(Job, job_id)
    try:
        import_string(JOB_FUNCTIONS[job.kind])(job)
    except Exception as exc:
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.status, job.finished_at = JobStatus.failed, clock.now()
        job.error = str(exc)[:500] or exc.__class__.__name__
        db.session.commit()
        log.error("job %s failed: %s", job_id, traceback.format_exc())
        return "failed"
    job.status, job.progress, job.finished_at = JobStatus.finished, 100, clock.now()
    db.session.commit()
    return "finished"


def set_progress(job: Job, done: int, total: int) -> None:
    """Record how far a job got (0–100) so the page's progress bar moves.

    The job's reads end first, so that the progress is written in a transaction of its own:
    SQLite refuses a write on a read snapshot that another writer has moved past.
    """
    progress = min(99, int(done * 100 / total)) if total else 99
    db.session.commit()
    job.progress = progress
    db.session.commit()


def results_dir() -> Path:
    path = Path(
        current_app.config.get("JOB_RESULTS_DIR") or Path(current_app.instance_path) / "job-results"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def sweep_jobs() -> int:
    """Queue jobs that never reached the queue (Redis was down when they were started);
    a job enqueued twice still runs once (run_job claims its row)."""
    waiting = clock.now() - timedelta(minutes=2)
    ids = list(
        db.session.scalars(
            select(Job.id).where(Job.status == JobStatus.queued, Job.created_at < waiting)
        )
    )
    for job_id in ids:
        queue_job(job_id)
    return len(ids)


def healthcheck():
    """A job that proves a worker runs with the portal's app context and database."""
    from sqlalchemy import text

    return {"app": current_app.name, "database": db.session.scalar(text("SELECT 1")) == 1}


# --- The embedded mode's runner -------------------------------------------------------------


class Runner:
    """The embedded mode's background thread: the periodic jobs of schedule.py at their
    intervals, and the work handed to it, one at a time, each in an app context."""

    def __init__(self, app, periodic=None):
        from portal.schedule import PERIODIC

        self.app, self.pid = app, os.getpid()
        self.periodic = list(PERIODIC if periodic is None else periodic)
        self.next_run = dict.fromkeys(range(len(self.periodic)), 0.0)  # index → monotonic
        self.tasks: queues.Queue = queues.Queue()
        self.thread = threading.Thread(target=self._loop, name="portal-runner", daemon=True)

    def alive(self) -> bool:
        """Whether this runner's thread runs in this process (a fork leaves it behind)."""
        return self.pid == os.getpid() and self.thread.is_alive()

    def submit(self, func: str, *args) -> None:
        self.tasks.put((func, args))

    def stop(self, timeout: float = 10) -> None:
        self.tasks.put(None)
        self.thread.join(timeout)

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait until everything handed on so far has run (tests)."""
        done = threading.Event()
        self.tasks.put((done.set, ()))
        if not done.wait(timeout):
            raise TimeoutError("the background runner is still busy")

    def _loop(self) -> None:
        while True:
            try:
                task = self.tasks.get(timeout=self.run_due())
            except queues.Empty:
                continue
            if task is None:
                return
            func, args = task
            self.run(func, *args)

    def run_due(self) -> float:
        """Run the periodic jobs that are due; the seconds until the next one is."""
        for index, periodic in enumerate(self.periodic):
            if time.monotonic() >= self.next_run[index]:
                self.run(periodic.func)
                self.next_run[index] = time.monotonic() + periodic.seconds_to_next()
        return max(0.0, min(self.next_run.values(), default=60.0) - time.monotonic())

    def run(self, func, *args) -> None:
        if callable(func):
            return func(*args)
        with self.app.app_context():
            try:
                run_task(func, *args)
            except Exception:
                db.session.rollback()
                log.exception("background work %s failed", func)


_runners: dict[int, Runner] = {}  # id(app) → that app's runner in this process
_runner_lock = threading.Lock()


def runner(app) -> Runner:
    """The app's one background runner in this process, started on first use (and again
    after a fork: threads do not survive one). Work always runs in its own app's context."""
    with _runner_lock:
        found = _runners.get(id(app))
        if found is None or found.app is not app or not found.alive():
            found = _runners[id(app)] = Runner(app)
            found.thread.start()
        return found


def stop_runner() -> None:
    """Stop this process's runners (tests)."""
    with _runner_lock:
        stopping = list(_runners.values())
        _runners.clear()
    for each in stopping:  # joined outside the lock: a task may be asking for its runner
        each.stop()
