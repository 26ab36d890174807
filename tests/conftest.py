"""Test harness: one database per run (SQLite and PostgreSQL), rolled back per test.

Each test runs inside one outer transaction on one connection; the portal's own commits
become savepoints, so nothing a test does survives it. Every test-client request runs in a
fresh app context, hence a fresh SQLAlchemy session, as in production.

No test reads the real date: every test starts with the portal clock frozen at FROZEN_AT
(a test moves it with `clock.freeze()`), and a run has a Redis database of its own, so two
runs on one machine never see each other's keys.

`make test` runs the suite in several processes (pytest-xdist, `-n` in pyproject.toml;
`-n 0` runs it in one). Everything above is per process: each worker makes its own
PostgreSQL database and SQLite file and holds its own Redis database, and a server a test
starts listens on a port found free (`free_port`). The tests of the shared Redis run on one
worker, and so do the browser tests (XDIST_PATH_GROUPS).
"""

import os
import random
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError

from portal import create_app
from portal.core import accounts, clock
from portal.extensions import db, limiter

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Monday 11:00 in the estate: a working day, outside quiet hours, far from a month's end.
FROZEN_AT = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
BACKENDS = os.environ.get("PORTAL_TEST_BACKENDS", "sqlite,postgresql").split(",")
IN_CI = os.environ.get("CI") == "true"

# Cheap argon2 parameters keep the suite fast; one test proves the rehash on login.
accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "real_clock: the portal clock runs (another process shares the test's time);"
        " the test computes every moment from clock.now()",
    )


# pyproject's addopts ask for `-n auto`: the suite, or a folder of it, runs in this many
# processes, more than the machine's two cores since many tests wait (on a worker process, a
# browser, a timer); named test files or tests run in this one, where starting workers would
# cost more than it saves. `-n N` (or PYTEST_XDIST_AUTO_NUM_WORKERS=N) says otherwise.
SUITE_WORKERS = 3


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    paths = [arg.split("::")[0] for arg in config.args]
    return SUITE_WORKERS if all(os.path.isdir(path) for path in paths) else 0


# Under xdist (`--dist loadgroup`) the tests of these paths share one worker: the browser
# tests (one live portal with the demo estate and one Chromium a run, not one a worker) and
# those of the shared Redis (a run then holds one Redis database however many workers it
# has). Grouped by path in the scheduler, because xdist's `xdist_group` marks are lost with
# pytest 9.2 (pytest-xdist issue 1386); a mark, where xdist honours it, still groups too.
XDIST_PATH_GROUPS = {
    "tests/e2e/": "browser",
    "tests/core/test_redis.py": "redis",
    "tests/notify/test_stale.py": "redis",
}


def xdist_path_group(nodeid: str) -> str | None:
    return next((g for path, g in XDIST_PATH_GROUPS.items() if nodeid.startswith(path)), None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class PathGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid):
            return xdist_path_group(nodeid) or super()._split_scope(nodeid)

    return PathGroupScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Under xdist the long ones go out first, so that no worker starts one at the end:
        # the browser group, then the tests with a worker, a server or a timer of their own.
        def rank(item):
            group = xdist_path_group(item.nodeid)
            if group == "browser":
                return 0
            return 1 if group or item.get_closest_marker("integration") else 2

        items.sort(key=rank)


def free_port() -> int:
    """A free local TCP port for a server that a test starts (gunicorn, a redis-server).

    It is taken below the kernel's ephemeral range, which client connections and bind(0)
    draw from, so nothing else on the machine takes it between this check and the server's
    bind, nor while a test stops and restarts its server on it; each xdist worker draws from
    a block of its own, and the port is checked free (other runs share the machine).
    """
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            ephemeral = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    low = 10000
    blocks = max(1, (ephemeral - low) // 1000)
    start = low + (int(worker) if worker.isdigit() else 0) % blocks * 1000
    for port in random.sample(range(start, start + 1000), 1000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + 999}")


def without_faketime(**extra) -> dict:
    """This process's environment (plus `extra`) for a child that keeps the real clock.

    The suite proves it passes on any date under Debian's faketime, whose library hangs
    redis-server, breaks Chromium and never ends an RQ worker's timed waits; none of these
    children holds a time the tests look at.
    """
    env = dict(os.environ, **extra)
    env.pop("LD_PRELOAD", None)
    return env


def pytest_unconfigure(config):
    # Under faketime (how the suite proves it passes on any date) a timed wait never ends,
    # so a pending threading.Timer (the rate limiter's memory storage arms one) would hold
    # the interpreter's exit; cancelling it skips an expiry sweep no one needs any more.
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


@pytest.fixture(autouse=True)
def frozen_clock(request):
    """Every test starts at FROZEN_AT whatever today is, unless it is marked real_clock."""
    moment = None if request.node.get_closest_marker("real_clock") else FROZEN_AT
    clock.freeze(moment)
    try:
        yield moment
    finally:
        clock.freeze(None)


def skip_or_fail(reason: str):
    """Skip a test whose service is missing, except under CI=true where that is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the integration services must answer)")
    pytest.skip(reason)


def psycopg_url(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+psycopg://", 1)
        if url.startswith("postgresql://")
        else url
    )


@contextmanager
def postgres_database():
    """Create a fresh database on the test server for this run, and drop it afterwards."""
    server = make_url(psycopg_url(PG_URL))
    try:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        skip_or_fail(f"PostgreSQL at {PG_URL} does not answer: {exc.orig}")
    name = f"portal_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """The run's database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/portal-test.sqlite3"
        return
    with postgres_database() as url:
        yield url


def make_test_app(database_url, **overrides):
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True}
    config.update(overrides)
    return create_app(config)


RUN_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # per process: each xdist worker is a run
REDIS_LOCK = "portal-test:run"  # which run holds a database, until it expires
REDIS_USED = "portal-test:used"  # a test run's database: its leftovers may be flushed
REDIS_LOCK_SECONDS = 3 * 3600
# Empty the database only while this run holds it (or no run does, and then take it again),
# in one step, so that a run never flushes a database that another run holds.
REDIS_FLUSH_IF_OURS = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('FLUSHDB')
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  redis.call('SET', KEYS[2], ARGV[1])
end
return 1
"""


def _flush_if_ours(client, *, keep_claim: bool) -> bool:
    return bool(
        client.eval(
            REDIS_FLUSH_IF_OURS,
            2,
            REDIS_LOCK,
            REDIS_USED,
            RUN_ID,
            "1" if keep_claim else "0",
            REDIS_LOCK_SECONDS,
        )
    )


def _claim_redis_db(client, *, configured: bool) -> bool:
    """Hold one Redis database for this run if no other run does and it holds no one else's
    data: the configured test database, an empty one, or one a test run left behind."""
    if not client.set(REDIS_LOCK, RUN_ID, nx=True, ex=REDIS_LOCK_SECONDS):
        return False
    if configured or client.dbsize() == 1 or client.exists(REDIS_USED):
        client.set(REDIS_USED, RUN_ID)
        return True
    client.delete(REDIS_LOCK)
    return False


@pytest.fixture(scope="session")
def redis_url():
    """A Redis database of this run's own (PORTAL_TEST_REDIS_URL's, else another free one),
    so that concurrent runs never read or flush each other's keys; flushed at the end.

    Under xdist each worker that runs a test of the shared Redis is a run of its own and
    takes the next free database (the `redis` group keeps that to one worker a run)."""
    import redis

    base = make_url(REDIS_URL)
    first = int(base.database or 0)
    for number in [first, *(n for n in range(15, 0, -1) if n != first)]:
        url = base.set(database=str(number)).render_as_string(hide_password=False)
        client = redis.Redis.from_url(url)
        try:
            if _claim_redis_db(client, configured=number == first):
                break
        except redis.exceptions.ConnectionError as exc:
            client.close()
            skip_or_fail(f"Redis at {REDIS_URL} does not answer: {exc}")
        client.close()
    else:
        skip_or_fail(f"Redis at {REDIS_URL}: every database is held by another test run")
    try:
        yield url
    finally:
        _flush_if_ours(client, keep_claim=False)
        client.close()


@pytest.fixture
def redis_client(redis_url):
    """A client of the run's Redis database, emptied before the test (the claim stays)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    if not _flush_if_ours(client, keep_claim=True):
        client.close()
        pytest.fail(f"another test run took {redis_url} (its claim had expired)")
    yield client
    client.close()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application with the migrated schema (migrations, never create_all)."""
    from flask_migrate import upgrade

    app = make_test_app(database_url)
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


class PortalClient(FlaskClient):
    """A test client whose every request gets its own app context and session."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
            response.get_data()  # buffer the body, then release files it may hold open
            response.close()
        db.session.expire_all()
        return response


@pytest.fixture
def db_session(app):
    """Run the test inside one transaction that is rolled back at the end."""
    ctx = app.app_context()
    ctx.push()
    engines = db._app_engines[app]
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    engines[None] = connection
    db.session.remove()
    db.session.configure(join_transaction_mode="create_savepoint")
    limiter.reset()
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session.configure(join_transaction_mode="conditional_savepoint")
        engines[None] = engine
        outer.rollback()
        connection.close()
        ctx.pop()


@pytest.fixture
def client(app, db_session):
    app.test_client_class = PortalClient
    return app.test_client()


@pytest.fixture
def csrf_on(app):
    """Turn CSRF checking on for one test."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


class QueryCounter:
    """Counts the SQL statements the portal sends (savepoint bookkeeping excluded)."""

    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self):
        return len(self.statements)


@pytest.fixture
def count_queries(app, db_session):
    """Use as `with count_queries() as counter: …; counter.count`."""
    engine = db._app_engines[app][None].engine

    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def world(db_session):
    """A small estate with the demo roles, and a second estate to prove scoping."""
    from tests.factories import make_world

    return make_world()


@pytest.fixture
def login_as(client, world):
    """Sign the test client in as one of the world's logins, by username."""

    def sign_in(username, password="portal-demo", c=None):
        c = c or client
        c.post("/auth/logout")  # whoever was signed in on this client
        response = c.post("/auth/login", data={"login": username, "password": password})
        assert response.status_code == 302, f"sign-in as {username} failed"
        return c

    return sign_in


@pytest.fixture
def api_token(client, world):
    """A bearer token for one of the world's logins."""

    def token_for(username, password="portal-demo"):
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return token_for


class SmsGateway:
    """A real HTTP peer standing in for the SMS gateway: records what it receives and
    answers with the queued status codes (then 200). Like a real gateway, it counts a
    message id once however often it is sent."""

    def __init__(self):
        import http.server
        import json
        import threading

        self.received, self.answers, self.hang_first = [], [], False
        self.release = threading.Event()
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.received.append(body)
                if gateway.hang_first and len(gateway.received) == 1:
                    gateway.release.wait(30)  # the sender dies before we answer
                code = gateway.answers.pop(0) if gateway.answers else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"

    @property
    def delivered_ids(self):
        return {m["id"] for m in self.received}

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_gateway():
    gateway = SmsGateway()
    yield gateway
    gateway.close()
