"""List answers: {"items", "page", "per_page", "total"} (contracts §5)."""

from portal.blueprints.api import schemas as s
from portal.core.paging import paginate


def page_of(stmt, query: s.PageQuery, convert):
    """One page of a SELECT, each row converted to its response model."""
    page = paginate(stmt, page=query.page, per_page=min(query.per_page, 100))
    return {
        "items": [convert(x).model_dump(mode="json", by_alias=True) for x in page.items],
        "page": query.page,
        "per_page": query.per_page,
        "total": page.total,
    }
