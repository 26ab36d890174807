"""`flask worker`: an RQ worker and, beside it, RQ's cron scheduler with the periodic jobs
of schedule.py.

Both live through a Redis outage of any length. Their Redis clients retry every command
with back-off for as long as Redis is away (`PatientRetry`), logging the outage once when
it begins and once when it ends; RQ then carries on where it was. Work that waited in the
database meanwhile (notices, jobs) is picked up by the sweeps, once each.
"""

import contextlib
import logging
import multiprocessing
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


def app_worker_class(app):
    """RQ's Worker, running each job inside the portal's app context and firing what the
    job committed (notices it caused, jobs it started) afterwards."""
    from rq import Worker

    class AppWorker(Worker):
        def perform_job(self, *args, **kwargs):
            with app.app_context():
                try:
                    return super().perform_job(*args, **kwargs)
                finally:
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
    "--cron/--no-cron",
    default=True,
    help="Also run the periodic jobs of schedule.py (one worker per site needs it).",
)
@with_appcontext
def worker_command(burst, cron):
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
        _work(current_app._get_current_object(), patient_redis(url), burst)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.join(5)


def _work(app, connection, burst: bool) -> None:
    """Run the RQ worker; should its loop end but on a stop (or --burst), start another."""
    from rq import Queue

    worker_class, pause = app_worker_class(app), 1.0
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
