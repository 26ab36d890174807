"""Renovation (装修管理): the owner's application, the engineering review and the approval
that bills the deposit and the debris fee, issues the workers' passes, sets the unit under
renovation and tells the neighbours; on the shared workflow engine (contracts §9)."""


def init_app(app):
    """Register the renovation pages; importing them declares the ticket kind."""
    from portal.blueprints.renovation import workflow  # noqa: F401 - the kind registers
    from portal.blueprints.renovation.views import bp

    app.register_blueprint(bp, url_prefix="/renovations")
