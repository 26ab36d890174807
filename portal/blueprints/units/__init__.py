"""Units: the estate directory and the unit pages; activation letters add their routes."""

from . import letters  # noqa: F401 - registers the letter routes and job on the blueprint
