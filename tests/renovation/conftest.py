"""The renovation line's app: the same as the suite's, with the renovation pages and API
wired in whether or not the portal's blueprint list names them yet."""

import pytest

from tests.conftest import make_test_app


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application with the migrated schema (migrations, never create_all)."""
    from flask_migrate import upgrade

    import portal.blueprints.api.renovations  # noqa: F401 - its routes join the API blueprint
    from portal.blueprints import renovation
    from portal.extensions import db

    app = make_test_app(database_url)
    if "renovation" not in app.blueprints:
        renovation.init_app(app)
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    app.config["UPLOAD_DIR"] = str(tmp_path_factory.mktemp("uploads"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
