"""The reports blueprint object, shared by the page modules of this package."""

from flask import Blueprint

bp = Blueprint("reports", __name__)
