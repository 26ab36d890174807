"""With REDIS_URL set, the sign-in limit is counted in Redis (shared by every web process)."""

import pytest

from portal.extensions import db, limiter
from tests.conftest import make_test_app, without_faketime


@pytest.mark.integration
def test_login_limit_is_shared_through_redis(redis_client, redis_url, database_url, db_session):
    # Two web processes (two app instances) share one budget of failed sign-ins.
    # The limiter is one extension instance: keep the suite's memory storage to restore.
    saved = limiter._storage, limiter._limiter
    first = make_test_app(database_url, RATELIMIT_STORAGE_URI=redis_url)
    second = make_test_app(database_url, RATELIMIT_STORAGE_URI=redis_url)
    for n in range(10):
        app = first if n % 2 else second
        response = app.test_client().post("/auth/login", data={"login": "nobody", "password": "x"})
        assert response.status_code == 401
    assert (
        second.test_client()
        .post("/auth/login", data={"login": "nobody", "password": "x"})
        .status_code
        == 429
    )
    keys = list(redis_client.scan_iter("*"))
    assert any(b"limiter" in key.lower() for key in keys)
    limiter._storage, limiter._limiter = saved
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


@pytest.mark.integration
def test_worker_process_runs_jobs_in_the_app_context(redis_client, redis_url, database_url):
    """A real `flask worker` process takes a job from Redis and runs it with the app."""
    import subprocess
    import sys
    from pathlib import Path

    from rq import Queue

    job = Queue("default", connection=redis_client).enqueue("portal.jobs.healthcheck")
    env = without_faketime(DATABASE_URL=database_url, REDIS_URL=redis_url)
    flask = Path(sys.executable).with_name("flask")
    done = subprocess.run(
        [str(flask), "--app", "portal", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    job.refresh()
    assert job.return_value() == {"app": "portal", "database": True}


def test_worker_needs_redis(database_url):
    app = make_test_app(database_url)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL" in result.output
    with app.app_context():
        db.engine.dispose()
