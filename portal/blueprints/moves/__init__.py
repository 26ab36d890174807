"""Move-ins (交房/入住) and move-outs (迁出): the desk's pages, on the shared workflow."""


def init_app(app):
    """Register the moves pages; importing them declares the two ticket kinds."""
    from portal.blueprints.moves import workflow  # noqa: F401 - the kinds register at import
    from portal.blueprints.moves.views import bp

    app.register_blueprint(bp, url_prefix="/moves")
