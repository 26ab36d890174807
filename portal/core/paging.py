"""A page of a list and its total from one statement.

`db.paginate` runs two statements per list page: the rows, and a COUNT over the same
query. Here the total rides on every row as a window count (`count(*) OVER ()`), so a
page costs one round trip; only a page past the end, which has no row to carry it,
counts separately. For SELECTs of one entity or of plain columns, without eager loads that
join collections (those multiply rows).
"""

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from portal.extensions import db

MAX_PAGE = 100_000  # a page number past this is the last page anyone will ask for


class WindowPagination(Pagination):
    def _query_items(self):
        stmt = self._query_args["stmt"]
        page = min(self.page, MAX_PAGE)
        rows = db.session.execute(
            stmt.add_columns(func.count().over().label("page_total"))
            .limit(self.per_page)
            .offset((page - 1) * self.per_page)
        ).all()
        self._query_args["total"] = rows[0][-1] if rows else None
        if self._query_args["scalars"]:
            return [row[0] for row in rows]
        return [row[:-1] for row in rows]

    def _query_count(self):
        total = self._query_args.get("total")
        if total is not None:
            return total
        if self.page == 1:
            return 0
        stmt = self._query_args["stmt"].order_by(None)
        return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


def paginate(stmt, *, per_page: int, page: int | None = None, scalars: bool = True):
    """Like `db.paginate(stmt, per_page=…, error_out=False)` in one statement. With
    `scalars` (one entity per row) the items are the entities, else the rows."""
    return WindowPagination(
        page=page,
        per_page=per_page,
        max_per_page=per_page,
        error_out=False,
        stmt=stmt,
        scalars=scalars,
    )
