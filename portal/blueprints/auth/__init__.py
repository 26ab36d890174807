"""Sign-in, sign-out and password change; a resident's activation and password reset by SMS
code (activation.py, on the same blueprint)."""

from portal.blueprints.auth import activation  # noqa: F401 - registers its routes on bp
