"""Renovation pages: the owner applies and follows on a phone, the desk registers for an
owner, the engineers review and the supervisor or manager decides."""

from flask import Blueprint

bp = Blueprint("renovation", __name__)
