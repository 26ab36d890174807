"""Report figures computed once per estate and period, until a write changes them.

Each estate has a *generation* per topic (a counter row in the sequence table). The writes
that change what a report counts mark the estate (`changed`); just before their transaction
commits, the marks become one counter bump per estate, so the row lock lasts an instant and
a rolled-back write bumps nothing. A figure is cached under the generation it was read at:
a reader that read the old generation may store figures that already include the write,
never the reverse, because the generation is read before the figures are.

The cache lives in the process (a small LRU); each worker computes a figure once per
generation. Callers get a copy, so nothing they do to it reaches the next reader.
"""

import copy
import threading
from collections import OrderedDict

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.core.sequence import SequenceCounter, upsert
from portal.extensions import db

FEES = "figures:fees"  # bills, payments and allocations: the fee and arrears reports
_DAY = "-"  # the counter table's day column: a generation is not daily
_MARKS = "figures.changed"  # session.info key: {(topic, estate_id), ...}
CACHE_SIZE = 256

_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def changed(topic: str, estate_id: int) -> None:
    """Mark an estate's figures of `topic` as changed by the current transaction."""
    db.session.info.setdefault(_MARKS, set()).add((topic, int(estate_id)))


def generation(topic: str, estate_id: int) -> int:
    """The estate's current generation of `topic` (0 before its first change)."""
    value = db.session.scalar(
        select(SequenceCounter.value).where(
            SequenceCounter.estate_id == estate_id,
            SequenceCounter.kind == topic,
            SequenceCounter.day == _DAY,
        )
    )
    return value or 0


def cached(topic: str, estate_id: int, key: tuple, compute):
    """`compute()` for this estate and key, or a copy of what it returned at the estate's
    current generation of `topic` (straight `compute()` when FIGURES_CACHE is off)."""
    if not current_app.config.get("FIGURES_CACHE"):
        return compute()
    full_key = (topic, estate_id, generation(topic, estate_id), key)
    with _lock:
        if full_key in _cache:
            _cache.move_to_end(full_key)
            return copy.deepcopy(_cache[full_key])
    value = compute()
    with _lock:
        _cache[full_key] = copy.deepcopy(value)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached figure (tests; a restored database)."""
    with _lock:
        _cache.clear()


def _bump(session: Session, topic: str, estate_id: int) -> None:
    session.execute(
        upsert(session, SequenceCounter)
        .values(estate_id=estate_id, kind=topic, day=_DAY, value=1)
        .on_conflict_do_update(
            index_elements=["estate_id", "kind", "day"],
            set_={"value": SequenceCounter.value + 1},
        )
    )


@event.listens_for(Session, "before_commit")
def _bump_marked(session: Session) -> None:
    marks = session.info.pop(_MARKS, None)
    for topic, estate_id in sorted(marks or ()):  # one order: two committers never deadlock
        _bump(session, topic, estate_id)


@event.listens_for(Session, "after_rollback")
def _forget_marks(session: Session) -> None:
    session.info.pop(_MARKS, None)
