"""Fee pages: the counter, the unit's account, billing runs, fee items, the cash report."""

from flask import Blueprint

from portal.blueprints.fees import models  # noqa: F401 - the tables

bp = Blueprint("fees", __name__)
