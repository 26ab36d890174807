"""Where a page's time goes: statements, time inside them, and the application's CPU.

Runs the portal in this process (Flask's test client, no server) against an existing
database — e.g. the one `bench/pages.py --keep` leaves — and prints for each hot page:
its statements per request, the wall time spent inside them (round trip, planning and
execution in PostgreSQL; the first statement of a request also carries BEGIN), the
application's CPU time per request (process time: Python only, the database's own CPU is
not in it), and the wall time per request. Three reference routes give the fixed costs
every page pays: `/healthz` (no sign-in, no database), a signed-in route returning a string
(Flask-Login, the session, the statement that loads the person), and a signed-in route
rendering the layout alone (navigation, estate switcher, language links, the bell).

    .venv/bin/python bench/page_costs.py --database-url postgresql://postgres@127.0.0.1/portal_bench_pages_demo
        [--requests 200]

The database needs the demo logins (`flask --app portal demo`, or bench/scale.py).
"""

import argparse
import os
import re
import time
from collections import defaultdict

PAGES = [
    ("resident", "/"),
    ("resident", "/fees/mine"),
    ("resident", "/repairs/"),
    ("frontdesk", "/"),
    ("frontdesk", "/units/?q=101"),
    ("frontdesk", "/units/{unit}"),
    ("manager", "/repairs/"),
    ("manager", "/reports/fees"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    os.environ["DATABASE_URL"] = url

    from flask import render_template
    from flask_login import login_required
    from sqlalchemy import event, select

    from portal import create_app
    from portal.core.people import Residency, User
    from portal.extensions import db

    # JOBS_INLINE: no embedded job runner polling beside the pages (served under gunicorn
    # with REDIS_URL the portal has none either), so its statements are not counted.
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": False,
            "FIGURES_CACHE": True,
            "JOBS_INLINE": True,
        }
    )
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)

    @app.route("/_bench/signed-in")
    @login_required
    def signed_in():
        return "ok"

    layout = app.jinja_env.from_string(
        '{% extends "base.html" %}{% block content %}ok{% endblock %}'
    )

    @app.route("/_bench/layout")
    @login_required
    def layout_only():
        return render_template(layout)  # a compiled Template is taken as it is

    spent = defaultdict(float)
    counted = defaultdict(int)

    with app.app_context():

        @event.listens_for(db.engine, "before_cursor_execute")
        def _before(conn, _cursor, _statement, _params, _context, _many):
            conn.info["bench_t0"] = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def _after(conn, _cursor, _statement, _params, _context, _many):
            spent["db"] += time.perf_counter() - conn.info.pop("bench_t0")
            counted["db"] += 1

        unit_id = db.session.scalar(
            select(Residency.unit_id).join(User).where(User.username == "resident")
        )

    def measure(client, path):
        for _ in range(10):
            client.get(path)
        spent["db"], counted["db"] = 0.0, 0
        n = args.requests
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            status = client.get(path).status_code
        wall = (time.perf_counter() - wall) / n * 1000
        cpu = (time.process_time() - cpu) / n * 1000
        return status, counted["db"] / n, spent["db"] / n * 1000, cpu, wall

    print("| who | page | status | statements | in statements | app CPU | wall |")
    print("|---|---|---|---|---|---|---|")
    clients = {}
    for who in ("resident", "frontdesk", "manager"):
        client = app.test_client()
        answer = client.post("/auth/login", data={"login": who, "password": "portal-demo"})
        if answer.status_code != 302:
            raise SystemExit(f"sign-in of {who} answered {answer.status_code}")
        clients[who] = client
    rows = [("—", "/healthz"), ("resident", "/_bench/signed-in"), ("resident", "/_bench/layout")]
    for who, path in rows + PAGES:
        client = clients.get(who) or app.test_client()
        status, statements, in_db, cpu, wall = measure(client, path.format(unit=unit_id))
        name = re.sub(r"^/_bench/", "(reference) ", path)
        print(
            f"| {who} | `{name}` | {status} | {statements:.0f} | {in_db:.2f} ms"
            f" | {cpu:.2f} ms | {wall:.2f} ms |"
        )


if __name__ == "__main__":
    main()
