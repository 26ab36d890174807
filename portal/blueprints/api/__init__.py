"""JSON API v1 (contracts §5): token auth, one error format, paging, OpenAPI.

The resource modules are imported here, at the top, so that importing `bp` registers every
route.
"""

from . import (
    complaints,
    custody,
    fee_reports,
    fees,
    move_reports,
    moves,
    notices,
    passes,
    renovation_reports,
    renovations,
    repairs,
    reports,
    residents,
    views,
)
from .blueprint import bp

__all__ = [
    "bp",
    "complaints",
    "custody",
    "fee_reports",
    "fees",
    "move_reports",
    "moves",
    "notices",
    "passes",
    "repairs",
    "reports",
    "renovation_reports",
    "renovations",
    "residents",
    "views",
]
