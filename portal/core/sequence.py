"""Gap-free numbers: one daily counter per estate and sequence (tickets, receipts, refunds).

A number is taken inside the caller's transaction: the counter row stays locked until that
transaction ends, so a rolled-back transaction gives its number back and concurrent callers
queue for the next one.

Numbers that people of several estates look up by the number itself (receipts) carry the
estate: the prefix, the estate id in four or more digits, the day and the count
(SJ0002202612020001), so two estates never give out the same number. Ticket numbers are
looked up by id and keep the short form (BX202611220001).
"""

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.extensions import db


class SequenceCounter(db.Model):
    """The last number given in one sequence (a ticket kind, receipts) of an estate on one day.

    The table keeps its first name, from when only tickets were numbered.
    """

    __tablename__ = "ticket_counters"
    __table_args__ = (UniqueConstraint("estate_id", "kind", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    kind: Mapped[str] = mapped_column(String(30))
    day: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column(default=0)


def upsert(session, model):
    """An INSERT of `model` that takes ON CONFLICT clauses, for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def next_in_sequence(estate_id: int, kind: str, prefix: str, *, with_estate=False) -> str:
    """The next number of a gap-free daily sequence per estate: BX202611220001, or with
    the estate in it SJ0002202612020001."""
    day = clock.local_today().strftime("%Y%m%d")
    db.session.execute(
        upsert(db.session, SequenceCounter)
        .values(estate_id=estate_id, kind=kind, day=day, value=0)
        .on_conflict_do_nothing()
    )
    counter = db.session.scalar(
        select(SequenceCounter)
        .where(
            SequenceCounter.estate_id == estate_id,
            SequenceCounter.kind == kind,
            SequenceCounter.day == day,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter.value += 1
    db.session.flush()
    estate = f"{estate_id:04d}" if with_estate else ""
    return f"{prefix}{estate}{day}{counter.value:04d}"
