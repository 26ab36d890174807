"""Friendly error pages in both languages, and the JSON error format under /api/."""

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.core.errors import ServiceError
from portal.extensions import db
from portal.security import wait_message

MESSAGES = {
    400: lambda: _("The request was not understood."),
    401: lambda: _("Please sign in."),
    403: lambda: _("You do not have permission to do this."),
    404: lambda: _("There is nothing here."),
    405: lambda: _("That method is not allowed here."),
    409: lambda: _("That is not possible in the record's current state."),
    413: lambda: _("The upload is too large."),
    414: lambda: _("The address is too long."),
    429: lambda: _("Too many requests. Please wait a moment and try again."),
    500: lambda: _("Something went wrong on our side. It has been logged."),
}
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    414: "uri_too_long",
    429: "rate_limited",
    500: "server_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message=None, fields=None, code=None):
    """The API's one error shape: {"error": {"code", "message", "fields"}}."""
    body = {
        "error": {
            "code": code or CODES.get(status, "error"),
            "message": str(message or MESSAGES.get(status, MESSAGES[400])()),
            "fields": fields or {},
        }
    }
    return jsonify(body), status


def _page(status, message=None):
    message = message or MESSAGES.get(status, MESSAGES[500])()
    return render_template("errors/error.html", status=status, message=message), status


def handle_http(exc: HTTPException):
    status = exc.code or 500
    if status >= 500:
        db.session.rollback()
    message = wait_message() if status == 429 else None
    if wants_json():
        return api_error(status, message)
    return _page(status, message)


def handle_method_not_allowed(exc: MethodNotAllowed):
    """405 in the usual shape, saying in `Allow` which methods the address takes."""
    response = make_response(handle_http(exc))
    response.headers["Allow"] = ", ".join(exc.valid_methods or ())
    return response


def handle_service_error(exc: ServiceError):
    db.session.rollback()
    if wants_json():
        return api_error(exc.status, exc.message, exc.fields)
    return _page(exc.status, str(exc.message))


def handle_unexpected(exc: Exception):
    db.session.rollback()
    from flask import current_app

    current_app.logger.exception("Unhandled error on %s", request.path)
    if wants_json():
        return api_error(500)
    return _page(500)


def init_app(app):
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(MethodNotAllowed, handle_method_not_allowed)
    app.register_error_handler(ServiceError, handle_service_error)
    if not app.config.get("TESTING"):
        app.register_error_handler(Exception, handle_unexpected)
    else:
        app.register_error_handler(500, lambda e: _page(500))
