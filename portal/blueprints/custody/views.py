"""The desk's pages for a unit's cards and meter readings, and the key custody register."""

from flask import Blueprint

from portal.blueprints.custody import models  # noqa: F401 - the tables this line keeps

bp = Blueprint("custody", __name__)
