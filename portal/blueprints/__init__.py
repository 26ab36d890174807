"""register_blueprints(app): the explicit list of the portal's features."""


def register_blueprints(app):
    from portal.blueprints.admin.views import bp as admin_bp
    from portal.blueprints.api import bp as api_bp
    from portal.blueprints.auth.views import bp as auth_bp
    from portal.blueprints.complaints.views import bp as complaints_bp
    from portal.blueprints.fees.views import bp as fees_bp
    from portal.blueprints.files.views import bp as files_bp
    from portal.blueprints.home.views import bp as home_bp
    from portal.blueprints.jobs.views import bp as jobs_bp
    from portal.blueprints.notices.views import bp as notices_bp
    from portal.blueprints.repairs.views import bp as repairs_bp
    from portal.blueprints.reports.views import bp as reports_bp
    from portal.blueprints.units.views import bp as units_bp
    from portal.core.money import yuan

    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(units_bp, url_prefix="/units")
    app.register_blueprint(repairs_bp, url_prefix="/repairs")
    app.register_blueprint(complaints_bp, url_prefix="/complaints")
    app.register_blueprint(notices_bp, url_prefix="/notices")
    app.register_blueprint(fees_bp, url_prefix="/fees")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(files_bp, url_prefix="/files")
    app.register_blueprint(jobs_bp, url_prefix="/jobs")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    from portal.blueprints import custody, moves, passes, renovation

    custody.init_app(app)
    passes.init_app(app)
    moves.init_app(app)
    renovation.init_app(app)
    app.add_template_filter(yuan, "yuan")  # money in every template: core/money's format
