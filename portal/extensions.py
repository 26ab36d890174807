"""Bare extension instances, initialised in create_app()."""

from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from portal.babel_domain import RequestBabel

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with constraint names that migrations can refer to."""

    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = RequestBabel()  # translations found once per request and locale (babel_domain.py)
bootstrap = Bootstrap5()
# With Redis away the limiter counts in this process's memory (and logs the switch) instead of
# failing the request, and goes back to Redis once it answers again. Every limit is checked,
# so that a refusal can say how long the longest of those broken lasts.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    in_memory_fallback_enabled=True,
    swallow_errors=True,
    fail_on_first_breach=False,
)


# A pooled connection idle for longer than this is pinged before use; a busy one is not
# (a ping per request is a round trip per page). After a database restart the first
# statement on a busy connection fails and SQLAlchemy replaces the pool's connections.
PING_AFTER_IDLE_SECONDS = 10


def configure_engine(engine):
    """Server databases: ping a connection that sat idle in the pool before handing it out;
    psycopg keeps its prepared statements across a read-only transaction (portal/prepared.py).
    SQLite: enforce foreign keys, let SQLAlchemy own BEGIN so savepoints work, and keep
    a write-ahead log so that a long background job reading the database (the embedded
    mode's runner) never blocks the pages' writes."""
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        _ping_idle_connections(engine)
        if engine.dialect.driver == "psycopg":
            from portal.prepared import keep_prepared_statements

            keep_prepared_statements(engine)
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")  # in-memory databases keep their own mode
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A request that writes takes the write lock when it begins: a deferred transaction
        # that read first and then writes fails at once ("database is locked") when the
        # embedded runner committed in between; waiting for the lock (busy_timeout) does not.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writing_request() else "BEGIN")


def _writing_request() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


def _ping_idle_connections(engine):
    import time

    from sqlalchemy import event
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or back from use a moment ago
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # any failure: the pool retries with a new connection
            raise DisconnectionError() from exc
