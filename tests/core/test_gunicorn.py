"""The shipped gunicorn settings: workers from the core count, time limits, an access log,
and a server that starts with them (README, Production)."""

import multiprocessing
import runpy
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, without_faketime

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "gunicorn.conf.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")
ENV_NAMES = ("PORT", "GUNICORN_WORKERS", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "GUNICORN_BIND")


def settings(monkeypatch, **env):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_workers_follow_the_cores_and_the_limits_are_set(monkeypatch):
    config = settings(monkeypatch)
    assert config["workers"] == 2 * multiprocessing.cpu_count() + 1 > 1
    assert config["timeout"] == 60 and config["graceful_timeout"] == 30
    assert config["keepalive"] > 0
    assert config["limit_request_line"] == 8190  # the portal answers long addresses itself
    assert config["accesslog"] == "-" and "%(M)s" in config["access_log_format"]
    assert config["bind"] == "0.0.0.0:8000"


def test_the_environment_overrides_the_defaults(monkeypatch):
    config = settings(monkeypatch, WEB_CONCURRENCY="3", PORT="9001", GUNICORN_TIMEOUT="90")
    assert (config["workers"], config["bind"], config["timeout"]) == (3, "0.0.0.0:9001", 90)
    assert settings(monkeypatch, GUNICORN_WORKERS="4", WEB_CONCURRENCY="3")["workers"] == 4


@pytest.mark.integration
def test_gunicorn_serves_the_portal_with_these_settings(tmp_path):
    port = free_port()
    env = without_faketime(
        DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        PORTAL_SECRET_KEY="gunicorn-test",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
    )
    env.pop("REDIS_URL", None)
    check = subprocess.run(
        [str(GUNICORN), "--check-config", "-c", str(CONFIG), "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen(
        [str(GUNICORN), "-c", str(CONFIG), "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 30
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read()
            except OSError:
                time.sleep(0.2)
        assert body == b'{"status":"ok"}\n'
    finally:
        server.terminate()
        out, err = server.communicate(timeout=40)
    assert '"GET /healthz HTTP/1.1" 200' in out  # the access log, on stdout
    assert err.count("Booting worker") == 2
