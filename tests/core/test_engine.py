"""The connection pool pings a connection only after it sat idle, and replaces a dead one."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.pool import NullPool

from portal import extensions
from portal.extensions import configure_engine


@pytest.fixture
def pg_engine(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the idle ping is for server databases")
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    configure_engine(engine)
    yield engine
    engine.dispose()


def _kill_pooled_connection(engine) -> int:
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    return pid


def test_a_connection_back_a_moment_ago_is_not_pinged(pg_engine):
    _kill_pooled_connection(pg_engine)
    # No ping for a connection that was in use a moment ago: its death shows on first use
    # (and the pool then replaces it).
    with pytest.raises(OperationalError), pg_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_an_idle_dead_connection_is_replaced_before_use(pg_engine, monkeypatch):
    pid = _kill_pooled_connection(pg_engine)
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 0)  # it has sat idle enough
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid


def _prepared_statements(conn) -> list[str]:
    return list(conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars())


def _read_in_transactions(engine, times: int, statement: str) -> None:
    for _ in range(times):  # each its own transaction, rolled back at the end, as a page's
        with engine.connect() as conn:
            conn.execute(text(statement)).all()


def test_reading_transactions_keep_their_prepared_statements(pg_engine):
    # psycopg prepares a statement from its sixth run on a connection; a page's transaction
    # ends in a rollback, which must not make it forget them when it only read.
    _read_in_transactions(pg_engine, 8, "SELECT count(*) FROM pg_namespace WHERE oid > 0")
    with pg_engine.connect() as conn:
        assert "SELECT count(*) FROM pg_namespace WHERE oid > 0" in _prepared_statements(conn)


def test_a_rolled_back_write_forgets_the_prepared_statements(pg_engine):
    _read_in_transactions(pg_engine, 8, "SELECT count(*) FROM pg_namespace WHERE oid > 0")
    with pg_engine.connect() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE scratch (id int)"))
        conn.rollback()  # what the rollback undid may be what a prepared statement names
        assert _prepared_statements(conn) == []
        conn.execute(text("SELECT count(*) FROM pg_namespace WHERE oid > 0")).all()  # still runs


def test_a_failed_statement_forgets_the_prepared_statements(pg_engine):
    # A prepared statement may fail for good (a column's type changed under it): the
    # rollback after a failure forgets them, so the next request prepares them anew.
    _read_in_transactions(pg_engine, 8, "SELECT count(*) FROM pg_namespace WHERE oid > 0")
    with pg_engine.connect() as conn:
        with pytest.raises(DataError):
            conn.execute(text("SELECT 1 / (count(*) - count(*)) FROM pg_namespace")).all()
        conn.rollback()
        assert _prepared_statements(conn) == []


def test_a_statement_matching_a_pattern_is_never_prepared(pg_engine):
    # Whether an index serves LIKE depends on the pattern: each run is planned for its own.
    pattern = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg%'"
    _read_in_transactions(pg_engine, 8, pattern)
    with pg_engine.connect() as conn:
        assert not [s for s in _prepared_statements(conn) if "LIKE" in s]
