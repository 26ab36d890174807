"""The queue: RQ on Redis, job progress rows, and the `flask worker` command.

Long work (batch PDFs, billing runs, exports) is a Job row plus an RQ job that takes the
row's id. Without REDIS_URL the job runs in-process right after the commit, so `make run`
needs nothing else. Jobs reload their rows and are safe to run twice.
"""

import logging
import multiprocessing
import sys
import traceback
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import click
from flask import current_app, g
from flask.cli import with_appcontext
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.types import UTCDateTime
from portal.extensions import db

log = logging.getLogger(__name__)
QUEUES = ("default",)


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
    "notice_print": "portal.notify.printing.print_notice_for_building",
    "billing_run": "portal.blueprints.fees.billing.run_billing_job",
    "payment_slips": "portal.blueprints.fees.slips.print_slips",
}


def start_job(kind: str, *, actor, estate_id=None, **params) -> Job:
    """Create a job row; it is queued (or run in-process) once the transaction commits."""
    if kind not in JOB_FUNCTIONS:
        raise ValueError(f"unknown job kind {kind}")
    job = Job(
        kind=kind, params=params, estate_id=estate_id, created_by_id=actor.id if actor else None
    )
    db.session.add(job)
    db.session.flush()
    g.setdefault("jobs_to_start", []).append(job.id)
    return job


def start_committed_jobs() -> None:
    """After the request's commit: hand its new jobs to RQ, or run them here."""
    ids = g.pop("jobs_to_start", [])
    if not ids:
        return
    from portal.notify.outbox import queue_connection

    connection = queue_connection()
    for job_id in ids:
        if connection is None:
            run_job(job_id)
            continue
        try:
            from rq import Queue

            Queue("default", connection=connection).enqueue(
                "portal.jobs.run_job", job_id, job_id=f"job-{job_id}", job_timeout=3600
            )
        except Exception as exc:  # the row stays queued; the sweep starts it later
            log.warning("job %s not queued, queue unreachable: %s", job_id, exc)


def run_job(job_id: int) -> str:
    """Run a job by id: claim it (queued → running, once), call its function, record the
    outcome. A job enqueued twice runs once."""
    from sqlalchemy import update
    from werkzeug.utils import import_string

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
    """Record how far a job got (0–100) so the page's progress bar moves."""
    job.progress = min(99, int(done * 100 / total)) if total else 99
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
    from datetime import timedelta

    from sqlalchemy import select

    waiting = clock.now() - timedelta(minutes=2)
    ids = list(
        db.session.scalars(
            select(Job.id).where(Job.status == JobStatus.queued, Job.created_at < waiting)
        )
    )
    g.jobs_to_start = ids
    start_committed_jobs()
    return len(ids)


def after_request_dispatch(response):
    """After every request: relay committed notices, start committed jobs."""
    from portal.notify.outbox import relay_soon

    relay_soon()
    start_committed_jobs()
    return response


def redis_connection():
    """The Redis connection REDIS_URL names, or None in the embedded (in-process) mode."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url)


def _run_cron(app_import: str, redis_url: str) -> None:
    """The cron scheduler process: enqueues the periodic jobs of schedule.py."""
    from redis import Redis

    from portal.schedule import build_cron

    build_cron(Redis.from_url(redis_url)).start()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--cron/--no-cron",
    default=True,
    help="Also run the periodic jobs of schedule.py (one worker per site needs it).",
)
@with_appcontext
def worker_command(burst, cron):
    """Run an RQ worker (with RQ's scheduler) and, beside it, RQ's cron scheduler."""
    from rq import Queue, Worker

    connection = redis_connection()
    if connection is None:
        click.echo(
            "REDIS_URL is not set: notices are delivered in-process, no worker is needed.", err=True
        )
        sys.exit(1)
    app = current_app._get_current_object()

    class AppWorker(Worker):
        """Runs every job inside the portal's application context, then relays what it
        committed (notices it caused, jobs it started)."""

        def perform_job(self, *args, **kwargs):
            with app.app_context():
                try:
                    return super().perform_job(*args, **kwargs)
                finally:
                    after_request_dispatch(None)

    scheduler = None
    if cron and not burst:
        scheduler = multiprocessing.get_context("spawn").Process(
            target=_run_cron,
            args=("portal", app.config["REDIS_URL"]),
            daemon=True,
            name="portal-cron",
        )
        scheduler.start()
    queues = [Queue(name, connection=connection) for name in QUEUES]
    try:
        AppWorker(queues, connection=connection).work(burst=burst, with_scheduler=True)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.join(5)


def healthcheck():
    """A job that proves a worker runs with the portal's app context and database."""
    from sqlalchemy import text

    return {"app": current_app.name, "database": db.session.scalar(text("SELECT 1")) == 1}
