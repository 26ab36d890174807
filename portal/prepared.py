"""PostgreSQL connections that keep their prepared statements across a read-only rollback.

psycopg prepares a statement on the server once it has run it five times on a connection,
so PostgreSQL plans it once instead of on every execution (planning the person's statement
costs more than executing it). But psycopg forgets every prepared statement whenever the
connection rolls back — a rolled-back transaction may have created or dropped what they
refer to — and nearly every page ends in a rollback (reading pages commit nothing, and the
session rolls back when the request ends). So no statement was ever prepared.

A transaction that ran nothing but SELECTs created and dropped nothing: its rollback keeps
the prepared statements. Any other statement (a write, DDL, a savepoint, COPY, anything not
recognised), or a statement that failed, makes the rollback forget them, as psycopg does.
The database sees the same ROLLBACK either way.
"""

import re

import psycopg
from psycopg import pq

_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)


def _is_read(query) -> bool:
    if isinstance(query, bytes):
        query = query.decode("utf-8", "replace")
    return isinstance(query, str) and _READ.match(query) is not None


_PATTERN = re.compile(r"\bI?LIKE\b", re.IGNORECASE)


_PATTERN_SEEN: dict[str, bool] = {}  # statement → whether it matches a pattern


def _matches_pattern(query) -> bool:
    if isinstance(query, bytes):
        query = query.decode("utf-8", "replace")
    if not isinstance(query, str):
        return True
    found = _PATTERN_SEEN.get(query)
    if found is None:
        found = _PATTERN.search(query) is not None
        if len(_PATTERN_SEEN) < 2000:  # a page's statements are the same strings each time
            _PATTERN_SEEN[query] = found
    return found


class _Cursor(psycopg.Cursor):
    """A cursor that tells its connection when it runs anything but a SELECT, and never
    prepares a statement that matches a pattern: whether an index serves `LIKE` depends on
    the pattern (a prefix, a fragment), which a plan made once for any pattern cannot know."""

    def execute(self, query, params=None, **kwargs):
        if not _is_read(query):
            self.connection.only_reads = False
        if "prepare" not in kwargs and _matches_pattern(query):
            kwargs["prepare"] = False
        return super().execute(query, params, **kwargs)

    def executemany(self, query, params_seq, **kwargs):
        self.connection.only_reads = False
        return super().executemany(query, params_seq, **kwargs)

    def stream(self, query, params=None, **kwargs):
        if not _is_read(query):
            self.connection.only_reads = False
        return super().stream(query, params, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        self.connection.only_reads = False
        return super().copy(statement, params, **kwargs)


class KeepPreparedConnection(psycopg.Connection):
    """A psycopg connection whose read-only transactions keep its prepared statements."""

    only_reads = True  # nothing but SELECTs since the transaction began

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs):
        kwargs.setdefault("cursor_factory", _Cursor)
        return super().connect(conninfo, **kwargs)

    def commit(self) -> None:
        super().commit()
        self.only_reads = True

    def rollback(self) -> None:
        prepared = getattr(self, "_prepared", None)  # psycopg's cache of prepared statements
        failed = self.info.transaction_status != pq.TransactionStatus.INTRANS
        if not self.only_reads or prepared is None or failed:
            # A failed statement may be a prepared one gone stale (a column's type changed
            # under a running worker): forgetting them all lets the next request recover.
            super().rollback()
        else:
            # psycopg clears the cache it finds on the connection: give it an empty one.
            self._prepared = type(prepared)()
            try:
                super().rollback()
            finally:
                self._prepared = prepared
        self.only_reads = True


def keep_prepared_statements(engine) -> None:
    """Connect `engine` (PostgreSQL through psycopg) with `KeepPreparedConnection`."""
    from sqlalchemy import event

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        if "cursor_factory" in cparams:
            return None  # a cursor of the deployment's choosing: psycopg's own connection
        return KeepPreparedConnection.connect(*cargs, **cparams)
