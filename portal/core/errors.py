"""The one error type services raise; views and the API turn it into a clear message."""


class ServiceError(Exception):
    """A rule was broken; `message` is shown to the user, `fields` names the inputs at fault."""

    status = 400

    def __init__(self, message, *, fields=None, status=None):
        super().__init__(str(message))
        self.message = message
        self.fields = fields or {}
        if status is not None:
            self.status = status


class NotAllowed(ServiceError):
    """The actor's role may not do this (403)."""

    status = 403


class Conflict(ServiceError):
    """The record's state does not allow this action (409)."""

    status = 409
