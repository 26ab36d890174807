"""With REDIS_URL set, the sign-in limit is counted in Redis (shared by every web process)."""

import pytest
import redis

from portal.extensions import db, limiter
from tests.conftest import REDIS_URL, make_test_app, skip_or_fail


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        skip_or_fail(f"Redis at {REDIS_URL} does not answer: {exc}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.mark.integration
def test_login_limit_is_shared_through_redis(redis_client, database_url, db_session):
    # Two web processes (two app instances) share one budget of failed sign-ins.
    # The limiter is one extension instance: keep the suite's memory storage to restore.
    saved = limiter._storage, limiter._limiter
    first = make_test_app(database_url, RATELIMIT_STORAGE_URI=REDIS_URL)
    second = make_test_app(database_url, RATELIMIT_STORAGE_URI=REDIS_URL)
    for n in range(10):
        app = first if n % 2 else second
        response = app.test_client().post("/auth/login", data={"login": "nobody",
                                                                 "password": "x"})
        assert response.status_code == 401
    assert second.test_client().post("/auth/login", data={"login": "nobody",
                                                          "password": "x"}).status_code == 429
    assert any(b"LIMITER" in key or b"limiter" in key.lower() for key in redis_client.keys())
    limiter._storage, limiter._limiter = saved
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()
