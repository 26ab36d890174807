"""The moves line's app: the same as the suite's, with the moves pages and API wired in
whether or not the portal's blueprint list names them yet."""

import pytest

from tests.conftest import make_test_app


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application with the migrated schema (migrations, never create_all)."""
    from flask_migrate import upgrade

    import portal.blueprints.api.moves  # noqa: F401 - its routes join the API blueprint
    from portal.blueprints import custody, moves, passes
    from portal.extensions import db

    app = make_test_app(database_url)
    for line in (custody, passes, moves):
        if line.__name__.rsplit(".", 1)[1] not in app.blueprints:
            line.init_app(app)
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
