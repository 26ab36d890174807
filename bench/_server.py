"""Shared helpers of the page benchmark and the load test: a scratch PostgreSQL database,
the portal's command line and gunicorn run from a chosen checkout, and signing in.

Not a benchmark itself; see bench/pages.py and bench/load.py.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
SERVER = os.environ.get("PORTAL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
DEMO_PASSWORD = "portal-demo"  # noqa: S105 - the documented demo password (contracts §2)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- database and Redis


def database_url(name: str) -> str:
    parts = urlsplit(SERVER)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(name: str) -> str:
    """Drop and create the database `name` on the bench server; its URL."""
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def drop_database(name: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_exists(name: str) -> bool:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def counts(url: str) -> dict[str, int]:
    """Row counts of the tables that size a dataset."""
    tables = ("units", "residencies", "users", "bills", "payments", "repairs")
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608


# A Redis database is held the way the test suite holds one (tests/conftest.py): a lock key
# set only if no one holds it, in a database that was empty; so a concurrent test run never
# takes (and flushes) the benchmark's database, and the benchmark never flushes a test run's.
REDIS_LOCK = "portal-test:run"
FLUSH_IF_OURS = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('FLUSHDB')
return 1
"""


def claim_redis(url: str) -> str:
    """Hold an empty Redis database: the one `url` names, or with no number the first of
    9, 8, … 1 that is free. Its URL; release_redis(url) flushes and frees it."""
    import redis

    base = url.rstrip("/")
    named = re.search(r"/(\d+)$", base)
    numbers = [int(named.group(1))] if named else list(range(9, 0, -1))
    root = base[: named.start()] if named else base
    for number in numbers:
        candidate = f"{root}/{number}"
        client = redis.Redis.from_url(candidate)
        if not client.set(REDIS_LOCK, _holder(), nx=True, ex=3 * 3600):
            continue
        if client.dbsize() == 1:
            return candidate
        client.delete(REDIS_LOCK)
    raise SystemExit(f"no empty Redis database to hold at {url}")


def release_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).eval(FLUSH_IF_OURS, 1, REDIS_LOCK, _holder())


def _holder() -> str:
    return f"bench-{os.getpid()}"


def build_database(name: str, data: str, portal_dir: Path, *, reuse: bool) -> tuple[str, dict]:
    """(url, counts) of the benchmark database `name`, built with portal_dir's code: migrated,
    then the demo estate (×10 for data "10x") and repairs from bench/scale.py. With `reuse`
    an existing database of that name is used as it is."""
    if reuse and database_exists(name):
        url = database_url(name)
        log(f"reusing database {name}")
    else:
        url = create_database(name)
        env = portal_env(portal_dir, url)
        started = time.monotonic()
        flask(portal_dir, env, "db", "upgrade")
        factor = {"demo": 1, "10x": 10}[data]
        subprocess.run(  # noqa: S603
            [VENV_BIN / "python", ROOT / "bench" / "scale.py", "--factor", str(factor)],
            cwd=portal_dir,
            env=env,
            check=True,
        )
        log(f"database {name} built in {time.monotonic() - started:.0f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return url, counts(url)


# ---------------------------------------------------------------- the portal's processes


def portal_env(portal_dir: Path, db_url: str, redis_url: str | None = None) -> dict:
    """Environment running the portal code of `portal_dir` on `db_url`."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(portal_dir),
        DATABASE_URL=db_url,
        SECRET_KEY="bench-secret-key",  # noqa: S105 - a scratch installation
        GUNICORN_ACCESS_LOG="/dev/null",
        GUNICORN_LOG_LEVEL="warning",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("REDIS_URL", None)
    env.pop("FLASK_APP", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def check_portal_code(portal_dir: Path, env: dict) -> str:
    """The path `portal` is imported from with this environment; it must be portal_dir's."""
    out = subprocess.run(
        [VENV_BIN / "python", "-c", "import portal; print(portal.__file__)"],
        cwd=portal_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(out).resolve().is_relative_to(portal_dir.resolve()):
        raise SystemExit(f"portal is imported from {out}, not from {portal_dir}")
    return out


def flask(portal_dir: Path, env: dict, *args: str) -> None:
    """Run `flask --app portal ARGS` from portal_dir."""
    subprocess.run(
        [VENV_BIN / "flask", "--app", "portal", *args],
        cwd=portal_dir,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn with the project's gunicorn.conf.py, bound to a free localhost port."""

    def __init__(self, cwd: Path, app: str, env: dict, *, workers: int | None, conf: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [VENV_BIN / "gunicorn", "-c", str(conf), "-b", f"127.0.0.1:{self.port}"]
        if workers:
            cmd += ["-w", str(workers)]
        self.proc = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
            [*cmd, app], cwd=cwd, env=env, start_new_session=True
        )
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}")
            try:
                requests.get(self.base + "/", timeout=30, allow_redirects=False)
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise SystemExit("gunicorn did not answer in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# ---------------------------------------------------------------- signing in

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise RuntimeError("no CSRF token in the page")
    return found.group(1) or found.group(2)


def sign_in(base: str, username: str, password: str = DEMO_PASSWORD) -> requests.Session:
    """A session signed in through the login form (CSRF token from the form)."""
    s = requests.Session()
    page = s.get(f"{base}/auth/login", timeout=30)
    form = {"login": username, "password": password, "csrf_token": csrf_token(page.text)}
    answer = s.post(f"{base}/auth/login", data=form, allow_redirects=False, timeout=30)
    if answer.status_code != 302 or "/auth/login" in answer.headers.get("Location", ""):
        raise RuntimeError(f"sign-in of {username} answered {answer.status_code}")
    return s


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def api_token(base: str, username: str, password: str = DEMO_PASSWORD) -> str:
    answer = requests.post(
        f"{base}/api/v1/auth/token",
        json={"username": username, "password": password},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["token"]
