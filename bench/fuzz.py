"""Fuzz run: requests generated from the OpenAPI document (valid and invalid, schemathesis)
against every API operation, as a member of staff and as a resident, on SQLite and on
PostgreSQL; prints per backend the number of requests, of 5xx and the time taken, and the
first findings. Exits 1 if any request got a 5xx.

    .venv/bin/python bench/fuzz.py [--examples 92] [--seed N] [--backend sqlite|postgresql]

At the default size each backend gets over 10,000 requests. PostgreSQL is
PORTAL_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test); a database
portal_bench_fuzz is created and dropped. The suite runs the same driver with a few examples
(tests/api/test_fuzz.py).
"""

import argparse
import logging
import os
import random
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("PORTAL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
DATABASE = "portal_bench_fuzz"


@contextmanager
def database(backend: str):
    """A new, empty database of the backend, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/fuzz.sqlite3"
        return
    server = make_url(SERVER).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    try:
        yield server.set(database=DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


def prepared_app(url: str, instance: str):
    """The portal on `url`, migrated, with the test world (two estates, the demo logins)."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from tests.factories import make_world

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "UPLOAD_DIR": instance})
    with app.app_context():
        upgrade()
        make_world()
        db.session.commit()
    return app


def tokens_for(app) -> dict[str, dict]:
    from tests.factories import PASSWORD

    client = app.test_client()
    tokens = {}
    for who, username in (("staff", "frontdesk"), ("resident", "resident")):
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
        )
        tokens[who] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return tokens


def run(backend: str, examples: int, seed: int):
    from tests.api.fuzz import fuzz, report

    with database(backend) as url, tempfile.TemporaryDirectory() as instance:
        app = prepared_app(url, instance)
        result = fuzz(app, tokens_for(app), examples=examples, seed=seed)
        with app.app_context():
            from portal.extensions import db

            db.engine.dispose()
    print(f"{backend}: {report(result)}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=92, help="per operation and mode")
    parser.add_argument("--seed", type=int, default=random.randrange(2**32))
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the portal logs every refused request
    print(f"seed {args.seed}, {args.examples} examples per operation and mode", flush=True)
    results = [run(b, args.examples, args.seed) for b in args.backend or ("sqlite", "postgresql")]
    return 1 if any(r.server_errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
