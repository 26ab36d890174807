"""JSON API v1 (contracts §5): token auth, one error format, paging, OpenAPI.

The resource modules are imported here, at the top, so that importing `bp` registers every
route.
"""

from . import complaints, fee_reports, fees, notices, repairs, reports, residents, views
from .blueprint import bp

__all__ = [
    "bp",
    "complaints",
    "fee_reports",
    "fees",
    "notices",
    "repairs",
    "reports",
    "residents",
    "views",
]
