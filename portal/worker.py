"""`flask worker`: an RQ worker and, beside it, RQ's cron scheduler with the periodic jobs
of schedule.py.

Both live through a Redis outage of any length. Their Redis clients retry every command
with back-off for as long as Redis is away (`PatientRetry`), logging the outage once when
it begins and once when it ends; RQ then carries on where it was. Work that waited in the
database meanwhile (notices, jobs) is picked up by the sweeps, once each.

Jobs run in the worker's own process (RQ's SimpleWorker; `--fork` gives RQ's forking
Worker): the app and its database engine are made once, and each job ends its session.
"""

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from portal import jobs
from portal.extensions import db

log = logging.getLogger(__name__)
RECONNECT_MAX_SECONDS = 5.0  # the longest wait between two attempts to reach Redis
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s: %(message)s"

# Set when the process is asked to stop: a command waiting for Redis then gives up.
stopping = threading.Event()


class Outage:
    """Whether Redis is away, so that each outage is logged once (not every retry)."""

    def __init__(self):
        self.lock, self.since = threading.Lock(), None

    def began(self, error) -> None:
        with self.lock:
            if self.since is None:
                self.since = time.monotonic()
                log.warning("Redis is unreachable (%s); waiting for it to come back", error)

    def ended(self) -> None:
        with self.lock:
            if self.since is not None:
                away, self.since = time.monotonic() - self.since, None
                log.warning("Redis is back after %.1f s; carrying on", away)


outage = Outage()


class PatientRetry(Retry):
    """Retry a Redis command (and its reconnect) for as long as Redis is away."""

    def __init__(self):
        super().__init__(ExponentialBackoff(cap=RECONNECT_MAX_SECONDS, base=0.25), -1)

    def call_with_retry(self, do, fail, is_retryable=None, with_failure_count=False):
        failures = 0
        while True:
            try:
                result = do()
            except self._supported_errors as error:
                if stopping.is_set() or (is_retryable and not is_retryable(error)):
                    raise
                failures += 1
                fail(error, failures) if with_failure_count else fail(error)
                if failures > 1:  # a stale connection fails once, then reconnects at once
                    outage.began(error)
                    time.sleep(self._backoff.compute(failures))
                continue
            if failures:
                outage.ended()
            return result


def patient_redis(url: str, socket_timeout: float | None = None) -> Redis:
    """A Redis client for the worker's processes whose every command waits out an outage.

    The worker's own client has no read timeout here (RQ sets one above its BLPOP wait); the
    cron process gives one, so a silently dropped connection is noticed and retried.
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=socket_timeout,
        socket_keepalive=True,
        retry=PatientRetry(),
    )


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def app_worker_class(app, fork: bool = False):
    """The worker that runs the portal's jobs, each inside the app context, firing what the
    job committed (notices it caused, jobs it started) afterwards.

    RQ's SimpleWorker by default: every job runs in the worker's own process, on the app
    and database engine (and its pool of connections) made once at the start; the app
    context of each job ends with its database session, so no transaction or loaded row
    outlives the job. A job's time limit still holds: RQ's death penalty raises in the
    job's (main) thread when SIGALRM comes. `fork=True` gives RQ's Worker, which forks a
    work horse per job (isolating its memory, at the price of a new process and new
    database connections for each job).
    """
    from rq import SimpleWorker, Worker

    class AppWorker(Worker if fork else SimpleWorker):
        def perform_job(self, *args, **kwargs):
            with app.app_context():  # its end removes the job's session
                try:
                    return super().perform_job(*args, **kwargs)
                finally:
                    end_transaction()
                    jobs.run_committed()

        def request_stop(self, signum, frame):
            stopping.set()
            super().request_stop(signum, frame)

        def stop_scheduler(self):
            """RQ waits for its scheduler process for ever; it may be waiting for Redis."""
            process = self.scheduler._process if self.scheduler else None
            if process is not None and process.pid:
                process.terminate()
                process.join(5)
                if process.is_alive():
                    process.kill()
                    process.join(5)

    return AppWorker


def end_transaction() -> None:
    """End what a job left open: roll back and hand its connection back to the pool, or,
    when the job was stopped in the middle of a statement (its time limit struck while it
    waited on the database), cancel that statement and drop the connection, which is of no
    more use: the pool makes another."""
    session = db.session()
    busy = _mid_statement(session)
    if busy is None:
        session.close()
        return
    log.warning("a job was stopped mid-statement; its database connection is dropped")
    with contextlib.suppress(Exception):
        busy.cancel_safe(timeout=2)  # the server stops the statement and frees its locks
    session.invalidate()


def _mid_statement(session):
    """The session's DBAPI connection if a statement is still running on it (psycopg)."""
    if not session.in_transaction():
        return None
    try:
        from psycopg.pq import TransactionStatus
    except ImportError:  # pragma: no cover - SQLite only: no statement can be cut short
        return None
    dbapi_connection = session.connection().connection.dbapi_connection
    info = getattr(dbapi_connection, "info", None)
    busy = getattr(info, "transaction_status", None) == TransactionStatus.ACTIVE
    return dbapi_connection if busy else None


def _run_cron(redis_url: str) -> None:
    """The cron scheduler process: enqueues the periodic jobs of schedule.py; should its
    loop end for any reason but a stop, it starts again."""
    from rq.cron import CronScheduler
    from rq.exceptions import SchedulerNotFound

    from portal.schedule import build_cron

    class PortalCron(CronScheduler):
        def _request_stop(self, signum, frame):
            stopping.set()
            super()._request_stop(signum, frame)

        def register_death(self, pipeline=None):
            with contextlib.suppress(SchedulerNotFound):  # Redis restarted empty meanwhile
                super().register_death(pipeline)

    _configure_logging()
    connection, pause = patient_redis(redis_url, socket_timeout=30), 1.0
    while not stopping.is_set():
        try:
            build_cron(connection, scheduler_class=PortalCron).start()
        except Exception:
            if not stopping.is_set():
                log.exception("the cron scheduler stopped; starting it again in %.0f s", pause)
        if not stopping.is_set():
            time.sleep(pause)
            pause = min(pause * 2, 60)


def _start_cron(redis_url: str):
    process = multiprocessing.get_context("spawn").Process(
        target=_run_cron, args=(redis_url,), daemon=True, name="portal-cron"
    )
    process.start()
    return process


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--fork",
    is_flag=True,
    help="Run each job in a process forked for it (RQ's Worker) instead of in the worker's own.",
)
@click.option(
    "--cron/--no-cron",
    default=True,
    help="Also run the periodic jobs of schedule.py (one worker per site needs it).",
)
@with_appcontext
def worker_command(burst, fork, cron):
    """Run an RQ worker (with RQ's scheduler) and, beside it, RQ's cron scheduler."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        click.echo(
            "REDIS_URL is not set: the web process runs the background work itself "
            "(the embedded mode); no worker is needed.",
            err=True,
        )
        sys.exit(1)
    _configure_logging()
    scheduler = _start_cron(url) if cron and not burst else None
    try:
        _work(current_app._get_current_object(), patient_redis(url), burst, fork=fork)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.join(5)


def _forget_connections_in_children(app) -> None:
    """A process forked from the worker (RQ's scheduler; with --fork, each work horse)
    opens connections of its own and never uses, nor closes, the worker's."""
    if id(app) in _fork_safe:
        return
    _fork_safe.add(id(app))
    with app.app_context():
        engines = list(db.engines.values())

    def forget():
        for engine in engines:
            engine.dispose(close=False)

    os.register_at_fork(after_in_child=forget)


_fork_safe: set[int] = set()


def _work(app, connection, burst: bool, fork: bool = False) -> None:
    """Run the RQ worker; should its loop end but on a stop (or --burst), start another."""
    from rq import Queue

    _forget_connections_in_children(app)
    worker_class, pause = app_worker_class(app, fork=fork), 1.0
    queues = [Queue(jobs.QUEUE, connection=connection)]
    while True:
        try:
            worker_class(queues, connection=connection).work(burst=burst, with_scheduler=True)
        except RedisError as exc:
            if not stopping.is_set():
                log.warning("the worker lost Redis: %s", exc)
        if burst or stopping.is_set():
            return
        log.error("the worker's loop ended unexpectedly; starting it again in %.0f s", pause)
        time.sleep(pause)
        pause = min(pause * 2, 60)
