"""The bare Flask app beside which bench/pages.py measures the portal's pages.

One route: one indexed SELECT of one row from the portal's database (`users` by primary
key, with psycopg, one connection per gunicorn worker) rendered by one small Jinja
template (bench/templates/bare.html). It is served under the same gunicorn settings as the
portal:

    DATABASE_URL=postgresql://... .venv/bin/gunicorn -c gunicorn.conf.py -w 4 bench.bare_app:app

(bench/pages.py starts it itself.)
"""

import os
import random
from pathlib import Path

import psycopg
from flask import Flask, render_template

app = Flask(__name__, template_folder=str(Path(__file__).with_name("templates")))
DATABASE_URL = os.environ["DATABASE_URL"]
_conn = None
_ids: list[int] = []


def connection() -> psycopg.Connection:
    """This worker's connection (opened after the fork, on the first request)."""
    global _conn
    if _conn is None or _conn.closed:
        _conn = psycopg.connect(DATABASE_URL, autocommit=True)
        _ids[:] = [r[0] for r in _conn.execute("SELECT id FROM users ORDER BY id LIMIT 1000")]
    return _conn


@app.route("/")
def index():
    conn = connection()
    user_id = random.choice(_ids)  # noqa: S311 - a benchmark, not security
    row = conn.execute("SELECT id, name FROM users WHERE id = %s", (user_id,)).fetchone()
    return render_template("bare.html", user={"id": row[0], "name": row[1]})
