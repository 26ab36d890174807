"""Flask-Babel finding a request's translations once, not once per string."""

from functools import cached_property

from flask import g, has_app_context
from flask_babel import Babel, Domain


class RequestDomain(Domain):
    """flask_babel's domain, finding a context's translations once per locale: flask_babel
    looks up the context and its locale again for every string (a page translates a
    hundred or more, its lists' labels among them). A forced locale (`force_locale`) or a
    refresh gives the context another locale object, and the next string looks anew."""

    def get_translations(self):
        if not has_app_context():
            return super().get_translations()
        state = g.get("_flask_babel")
        if state is not None:
            domain, locale, found = state.__dict__.get("portal_translations", (None,) * 3)
            if domain is self and locale is state.__dict__.get("babel_locale"):
                return found
        found = super().get_translations()
        state = g.get("_flask_babel")
        locale = getattr(state, "babel_locale", None)
        if locale is not None:
            state.portal_translations = (self, locale, found)
        return found


class RequestBabel(Babel):
    """Flask-Babel with the `RequestDomain` as its domain."""

    @cached_property
    def domain_instance(self):
        return RequestDomain(domain=self.domain)
