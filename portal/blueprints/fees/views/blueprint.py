"""The fees blueprint object, shared by the page modules of this package."""

from flask import Blueprint

bp = Blueprint("fees", __name__)
