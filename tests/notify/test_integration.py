"""Delivery with the real parts: PostgreSQL, a redis-server of the test's own, a
`flask worker` process, and a local HTTP server standing in for the SMS gateway.

The worker is another process, so the clock runs here: each test computes its moments
from clock.now(), and quiet hours are set explicitly (none, or a window around now)."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal.core import clock, settings
from portal.core.people import User
from portal.extensions import db
from portal.notify.models import Delivery, InboxMessage, OutboxMessage
from portal.notify.outbox import STALE_SECONDS, sweep_outbox
from portal.notify.tasks import BATCH_TIMEOUT
from tests.conftest import (
    free_port,
    make_test_app,
    postgres_database,
    skip_or_fail,
    without_faketime,
)

pytestmark = [pytest.mark.integration, pytest.mark.real_clock]
ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


def wait_for(predicate, timeout=45, what="condition"):
    """Poll until `predicate()` is true (the worker is another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def kill_with_children(process):
    """SIGKILL a worker and its work horse (RQ puts the horse in a process group of its own)."""
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
    ).stdout.split()
    for pid in [process.pid, *map(int, children)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class RedisServer:
    """A redis-server of the test's own, so that it can be stopped and started again."""

    def __init__(self, tmp):
        if not shutil.which("redis-server"):
            skip_or_fail("redis-server is not installed")
        self.port, self.tmp, self.process = free_port(), tmp, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            env=without_faketime(),
        )
        wait_for(self.answers, 10, "redis-server")

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def site(redis_server, sms_gateway, tmp_path):
    """A migrated PostgreSQL database with the test world committed, and its settings."""
    from tests.factories import make_world

    with postgres_database() as url:
        config = {
            "REDIS_URL": redis_server.url,
            "SMS_GATEWAY_URL": sms_gateway.url,
            "OUTBOX_RETRY_INTERVALS": [1, 1, 1],
        }
        app = make_test_app(url, **config)
        with app.app_context():
            upgrade()
            world = make_world()
            settings.set_value("notify.quiet_hours", "00:00-00:00", actor=world.admin)
            db.session.commit()
            ids = {"unit2": world.unit2.id, "admin": world.admin.id}
        env = dict(
            os.environ,
            DATABASE_URL=url,
            REDIS_URL=redis_server.url,
            SMS_GATEWAY_URL=sms_gateway.url,
            PORTAL_OUTBOX_RETRY_INTERVALS="1,1,1",
            PORTAL_SECRET_KEY="integration",
        )
        workers = []

        def start_worker(*args):
            with (tmp_path / f"worker-{len(workers)}.log").open("w") as log:
                process = subprocess.Popen(
                    [str(FLASK), "--app", "portal", "worker", *args],
                    env=env,
                    cwd=ROOT,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            workers.append(process)
            return process

        yield app, ids, start_worker
        for process in workers:
            if process.poll() is None:
                kill_with_children(process)
                process.wait(10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def send(app, ids, **body):
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": "frontdesk", "password": "portal-demo"}
    ).get_json()
    payload = {
        "title": "停水通知",
        "body": "明日9点至12点停水。",
        "channels": ["app", "sms"],
        "unit_ids": [ids["unit2"]],
        **body,
    }
    started = time.monotonic()
    response = client.post(
        "/api/v1/notices", json=payload, headers={"Authorization": f"Bearer {token['token']}"}
    )
    return response, time.monotonic() - started


def rows(app, **where):
    with app.app_context():
        result = db.session.scalars(select(OutboxMessage).filter_by(**where)).all()
        db.session.remove()
        return result


def all_delivered(app):
    return lambda: all(r.status == Delivery.delivered for r in rows(app))


def inbox_count(app):
    with app.app_context():
        n = db.session.scalar(select(func.count(InboxMessage.id)))
        db.session.remove()
        return n


def test_a_worker_delivers_each_message_exactly_once(site, sms_gateway):
    app, ids, start_worker = site
    response, _ = send(app, ids)
    assert response.status_code == 201
    start_worker()
    wait_for(all_delivered(app), what="delivery")
    assert len(sms_gateway.received) == 1 and inbox_count(app) == 1
    with app.app_context():  # a sweep after the fact sends nothing again
        assert sweep_outbox() == {"requeued": 0, "relayed": 0}
    assert len(sms_gateway.received) == 1 and inbox_count(app) == 1


def test_with_redis_down_the_request_succeeds_and_the_notice_follows(
    site, sms_gateway, redis_server
):
    app, ids, start_worker = site
    redis_server.stop()
    response, seconds = send(app, ids)
    assert response.status_code == 201 and seconds < 3
    assert {r.status for r in rows(app)} == {Delivery.pending}
    redis_server.start()
    start_worker()  # with RQ's cron scheduler: the sweep of schedule.py runs at its start
    wait_for(all_delivered(app), what="delivery by the scheduled sweep after Redis returned")
    assert len(sms_gateway.received) == 1 and inbox_count(app) == 1


def test_a_worker_killed_mid_delivery_leads_to_one_delivery(site, sms_gateway):
    """The worker dies while the gateway holds its request: about a minute later (the batch
    job's time limit and a margin, not a quarter of an hour) the message goes again, under
    the same id, which the gateway counts once."""
    app, ids, start_worker = site
    sms_gateway.hang_first = True
    send(app, ids, channels=["sms"])
    first = start_worker("--no-cron")
    wait_for(lambda: sms_gateway.received, what="the first attempt to reach the gateway")
    kill_with_children(first)  # worker and work horse die mid-request
    killed = time.monotonic()
    first.wait(10)
    sms_gateway.release.set()
    start_worker("--no-cron")

    def sweep_and_check():
        with app.app_context():
            sweep_outbox()  # the worker's minute sweep, run here every 0.1 s
        return all_delivered(app)()

    wait_for(sweep_and_check, timeout=120, what="delivery after the restart")
    again = time.monotonic() - killed
    assert STALE_SECONDS - 2 < again < 90  # not while the batch could still run; then soon
    assert STALE_SECONDS == BATCH_TIMEOUT + 10 <= 60
    assert len(sms_gateway.received) == 2  # the same message id, sent again
    assert len(sms_gateway.delivered_ids) == 1  # … which the gateway counts once
    (row,) = rows(app)
    assert row.status == Delivery.delivered and row.attempts == 1


def test_gateway_errors_are_retried_with_back_off(site, sms_gateway):
    app, ids, start_worker = site
    sms_gateway.answers = [500, 500]
    send(app, ids, channels=["sms"])
    start_worker("--no-cron")
    wait_for(all_delivered(app), what="delivery after two 500s")
    (row,) = rows(app)
    assert (row.attempts, row.last_error) == (3, None)
    assert [m["id"] for m in sms_gateway.received] == [str(row.id)] * 3


def test_quiet_hours_hold_a_non_urgent_sms_until_they_end(site, sms_gateway):
    app, ids, start_worker = site
    local = clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    # Quiet hours end on a minute 20 to 80 seconds from now, whatever the time of day.
    end = (local + timedelta(seconds=80)).replace(second=0, microsecond=0)
    start = local - timedelta(hours=1)
    with app.app_context():
        admin = db.session.get(User, ids["admin"])
        settings.set_value("notify.quiet_hours", f"{start:%H:%M}-{end:%H:%M}", actor=admin)
        db.session.commit()
    send(app, ids, channels=["sms"])
    send(app, ids, channels=["sms"], urgent=True, title="紧急停电")
    start_worker("--no-cron")
    wait_for(lambda: len(sms_gateway.received) == 1, what="the urgent SMS")
    assert sms_gateway.received[0]["text"].startswith("紧急停电")
    held = rows(app, urgent=False)[0]
    assert held.status == Delivery.pending and held.not_before == end

    def released():
        with app.app_context():
            sweep_outbox()
        return len(sms_gateway.received) == 2

    wait_for(released, timeout=120, what="release at the end of quiet hours")
    assert clock.now() >= end


def children(pid) -> dict[int, str]:
    """A process's children and their command lines."""
    found = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout.splitlines()
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in found}


def alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


def test_the_worker_lives_through_a_redis_outage(site, sms_gateway, redis_server, tmp_path):
    """Redis goes away for seconds under a running worker and comes back on the same port:
    the same worker process (and its cron scheduler) carries on, and what waited is
    delivered exactly once."""
    from redis import Redis
    from rq.cron import CronScheduler

    app, ids, start_worker = site
    worker = start_worker()
    send(app, ids, channels=["sms"], title="停水通知")
    wait_for(all_delivered(app), what="delivery before the outage")
    connection = Redis.from_url(redis_server.url)
    wait_for(lambda: CronScheduler.all(connection), what="the cron scheduler's start")
    connection.close()
    (cron,) = [pid for pid, args in children(worker.pid).items() if "spawn_main" in args]
    redis_server.stop()
    during, seconds = send(app, ids, channels=["sms"], title="停电通知")
    assert during.status_code == 201 and seconds < 3  # the rows wait in the outbox
    time.sleep(6)  # the outage itself: the worker and its scheduler keep trying
    assert worker.poll() is None and alive(cron)
    redis_server.start()
    send(app, ids, channels=["sms"], title="恢复供电")
    wait_for(lambda: len(sms_gateway.received) == 3, what="delivery after the outage")
    wait_for(all_delivered(app), what="every row marked delivered")
    connection = Redis.from_url(redis_server.url)
    wait_for(  # the cron scheduler's loop carried on: it registers in the new Redis
        lambda: CronScheduler.all(connection), timeout=90, what="the cron scheduler's return"
    )
    connection.close()
    assert len(sms_gateway.delivered_ids) == 3  # each message once
    assert {m["text"][:4] for m in sms_gateway.received} == {"停水通知", "停电通知", "恢复供电"}
    assert worker.poll() is None and alive(cron)  # the same processes as before the outage
    log = (tmp_path / "worker-0.log").read_text()
    assert "unhandled exception" not in log and "Redis is back" in log
