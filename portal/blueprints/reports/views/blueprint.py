"""The reports blueprint object, shared by the page modules of this package."""

from flask import Blueprint

from ..periods import local_time

bp = Blueprint("reports", __name__)


@bp.app_context_processor
def estate_times():
    """`estate_time(moment, estate)`: report pages and PDFs show times in the estate's zone."""
    return {"estate_time": lambda moment, estate: local_time(moment, estate.timezone)}
