"""Migrations build the schema the models describe, on SQLite and PostgreSQL alike."""

from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from portal.extensions import db
from tests.conftest import make_test_app, postgres_database


@contextmanager
def fresh_database(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.sqlite3"
    else:
        with postgres_database() as url:
            yield url


@contextmanager
def fresh_app(backend, tmp_path):
    """An app on a fresh database, inside its app context; its connections are closed
    however the test ends (an unclosed one would warn later, inside another test)."""
    with fresh_database(backend, tmp_path) as url:
        app = make_test_app(url)
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


# The unit search's trigram, prefix and reversed-number indexes exist on PostgreSQL only
# (migration c3a9e1f27b54); the models cannot declare them for both databases.
POSTGRES_ONLY_INDEXES = {
    "ix_users_phone_trgm",
    "ix_users_name_prefix",
    "ix_units_estate_number_prefix",
    "ix_units_estate_number_reversed",
}


def _not_postgres_only_index(obj, name, type_, reflected, compare_to):
    return not (type_ == "index" and reflected and name in POSTGRES_ONLY_INDEXES)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_up_down_up_match_the_models(backend, tmp_path):
    with fresh_app(backend, tmp_path):
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": _not_postgres_only_index}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], diff
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "units" in inspect(db.engine).get_table_names()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_demo_loads_once(backend, tmp_path):
    from portal.core.people import Residency, User
    from portal.core.places import Building, Occupancy, Unit
    from portal.demo import DEMO_LOGINS, load_demo

    with fresh_app(backend, tmp_path):
        upgrade()
        assert load_demo() is True
        db.session.commit()
        counts = [
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Unit, Building, User, Residency)
        ]
        assert load_demo() is False
        db.session.commit()
        assert counts == [
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Unit, Building, User, Residency)
        ]
        units, buildings = counts[0], counts[1]
        assert 1300 <= units <= 1500 and 35 <= buildings <= 45
        kinds = set(db.session.scalars(select(Unit.kind).distinct()))
        assert kinds == {"residence", "shop", "parking", "storage"}
        occupancies = set(db.session.scalars(select(Unit.occupancy).distinct()))
        assert occupancies == {o.value for o in Occupancy}
        usernames = set(db.session.scalars(select(User.username).where(User.username.is_not(None))))
        assert usernames == set(DEMO_LOGINS)
        neighbours = db.session.execute(
            select(User.username, Unit.building_id, Unit.id)
            .select_from(User)
            .join(Residency)
            .join(Unit, Unit.id == Residency.unit_id)
            .where(User.username.in_(["resident", "resident2"]))
        ).all()
        assert len({b for _, b, _ in neighbours}) == 1
        assert len({u for _, _, u in neighbours}) == 2
