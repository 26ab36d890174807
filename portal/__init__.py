"""The service-centre portal: create_app() wires config, extensions, blueprints and CLI."""

from flask import Flask


def create_app(config=None):
    """Build the application; `config` is a config class or a mapping (tests)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="static",
    )
    from portal.config import load_config

    load_config(app, config)

    from portal import errors, i18n, security
    from portal.blueprints import register_blueprints
    from portal.cli import register_cli
    from portal.extensions import bootstrap, configure_engine, csrf, db, limiter, migrate

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=_migrations_dir())
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    from portal.core import inputs

    inputs.init_app(app)  # the id converter and the text check, before any route exists
    register_blueprints(app)
    from portal import jobs

    app.after_request(jobs.after_request)  # hand on what the request committed
    register_cli(app)
    return app


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")
