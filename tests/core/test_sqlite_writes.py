"""Embedded mode (SQLite): a request that writes holds the write lock from its first
statement, so the background runner's commits never make its write fail midway; a reading
request leaves the database free for the runner."""

import sqlite3

import pytest
from sqlalchemy import text

from portal.extensions import db
from tests.conftest import make_test_app


@pytest.fixture
def embedded(tmp_path):
    path = tmp_path / "embedded.sqlite3"
    app = make_test_app(f"sqlite:///{path}")
    with app.app_context():
        db.session.execute(text("CREATE TABLE marks (n INTEGER)"))
        db.session.commit()
    yield app, path
    with app.app_context():
        db.engine.dispose()


def other_writer_blocked(path) -> bool:
    """Whether another connection (the runner) cannot write right now."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("INSERT INTO marks VALUES (1)")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        other.close()


@pytest.mark.parametrize(("method", "holds_the_lock"), [("POST", True), ("GET", False)])
def test_a_writing_request_takes_the_write_lock_when_it_begins(embedded, method, holds_the_lock):
    app, path = embedded
    with app.test_request_context("/", method=method):
        db.session.execute(text("SELECT count(*) FROM marks"))  # a read opens the transaction
        assert other_writer_blocked(path) is holds_the_lock
        db.session.rollback()
    assert not other_writer_blocked(path)
