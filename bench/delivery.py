"""Benchmark: notice delivery in rows/s, beside raw PostgreSQL doing the same statements.

One notice to `--households` homes over the in-app inbox and SMS (no gateway configured:
the SMS channel writes to the log), so 2 × households outbox rows. Each round puts the
rows back to queued, relays them to Redis (batch jobs of tasks.BATCH rows) and lets a real
`flask worker --burst --no-cron` drain the queue: RQ's SimpleWorker (the default), or the
forking Worker (`--fork`), per `--worker-class`. Then hand-written psycopg runs the
statements of tasks.deliver_batch for the same rows, in the same batch and group sizes, on
one connection: the database's own speed for that work. rows/s counts from the first
batch's start to the last row's record (the worker's own start is reported apart).

    .venv/bin/python bench/delivery.py [--households 10000] [--worker-class fork simple]

Needs PostgreSQL (PORTAL_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test;
a database portal_bench_delivery is created and dropped) and Redis (PORTAL_BENCH_REDIS_URL,
default redis://127.0.0.1:6379/12, flushed; refused if a test run holds it).
"""

import argparse
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, make_url, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from notice_fanout import SERVER, build_estate  # noqa: E402

REDIS = os.environ.get("PORTAL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
DATABASE = "portal_bench_delivery"

FLASK = Path(sys.executable).with_name("flask")
COLUMNS = (
    "id, estate_id, recipient_id, unit_id, notice_id, channel, kind, address, subject, body,"
    " locale, urgent, status, not_before"
)


def fresh_database() -> str:
    from sqlalchemy import create_engine

    url = make_url(SERVER.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return url.set(database=DATABASE).render_as_string(hide_password=False)


def drop_database() -> None:
    from sqlalchemy import create_engine

    url = make_url(SERVER.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    admin.dispose()


def reset_rows(notice_id: int) -> None:
    """Every row of the notice back to pending, the inbox emptied (not timed)."""
    from portal.extensions import db

    db.session.execute(text("DELETE FROM inbox_messages"))
    db.session.execute(
        text(
            "UPDATE outbox SET status = 'pending', attempts = 0, delivered_at = NULL,"
            " queued_at = NULL, last_error = NULL WHERE notice_id = :n"
        ),
        {"n": notice_id},
    )
    db.session.commit()


def check_delivered(notice_id: int, rows: int) -> None:
    from portal.extensions import db

    delivered = db.session.scalar(
        text("SELECT count(*) FROM outbox WHERE notice_id = :n AND status = 'delivered'"),
        {"n": notice_id},
    )
    inbox = db.session.scalar(text("SELECT count(*) FROM inbox_messages"))
    db.session.commit()
    assert delivered == rows and inbox == rows // 2, (delivered, inbox, rows)


def portal_round(
    app, notice_id: int, rows: int, worker_class: str, database_url: str, portal_dir=None
) -> dict:
    """Relay the rows to Redis, then one `flask worker --burst` delivers them."""
    from redis import Redis

    from portal.extensions import db
    from portal.notify.outbox import relay_due

    connection = Redis.from_url(REDIS)
    if connection.exists("portal-test:run"):
        sys.exit(f"{REDIS} is held by a test run; choose another PORTAL_BENCH_REDIS_URL")
    connection.flushdb()
    with app.app_context():
        reset_rows(notice_id)
        assert relay_due() == rows
        db.session.remove()
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=REDIS, PORTAL_SECRET_KEY="bench")
    args = [str(FLASK), "--app", "portal", "worker", "--burst", "--no-cron"]
    if worker_class == "fork":
        args.append("--fork")
    if portal_dir is not None:  # another checkout's worker, as it is (`--worker-class as-is`)
        env["PYTHONPATH"] = str(portal_dir)
    started = time.perf_counter()
    subprocess.run(
        args,
        env=env,
        cwd=portal_dir or ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - started
    with app.app_context():
        first, last = db.session.execute(
            text("SELECT min(queued_at), max(delivered_at) FROM outbox WHERE notice_id = :n"),
            {"n": notice_id},
        ).one()
        check_delivered(notice_id, rows)
        db.session.remove()
    seconds = (last - first).total_seconds()
    where = f" ({portal_dir})" if portal_dir else ""
    what = f"portal{where}, {worker_class} worker"
    return {"what": what, "seconds": seconds, "wall": wall}


def raw_round(app, notice_id: int, rows: int, database_url: str) -> dict:
    """The statements of tasks.deliver_batch, written by hand, for the same rows."""
    import psycopg

    from portal.extensions import db
    from portal.notify import tasks

    with app.app_context():
        reset_rows(notice_id)
        db.session.execute(
            text("UPDATE outbox SET status = 'queued', queued_at = now() WHERE notice_id = :n"),
            {"n": notice_id},
        )
        db.session.commit()
        ids = db.session.scalars(
            text("SELECT id FROM outbox WHERE notice_id = :n ORDER BY id"), {"n": notice_id}
        ).all()
        db.session.remove()
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        for b in range(0, len(ids), tasks.BATCH):
            deliver_batch_raw(conn, ids[b : b + tasks.BATCH], tasks.GROUP)
    seconds = time.perf_counter() - started
    with app.app_context():
        check_delivered(notice_id, rows)
        db.session.remove()
    return {"what": "raw PostgreSQL (psycopg), same statements", "seconds": seconds, "wall": None}


def _in(values) -> str:
    return "(" + ", ".join(["%s"] * len(values)) + ")"


def deliver_batch_raw(conn, ids, group: int) -> None:
    """tasks.deliver_batch by hand: taken up; then per group lock and read the rows, read
    the inbox rows already there, insert the inbox rows, record the rows, commit."""
    now = datetime.now(UTC)
    conn.execute(
        f"UPDATE outbox SET queued_at = %s WHERE id IN {_in(ids)} AND status = 'queued'",
        [now, *ids],
    )
    conn.commit()
    requires_ack, quiet = {}, False
    for g in range(0, len(ids), group):
        part = ids[g : g + group]
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM outbox WHERE id IN {_in(part)} ORDER BY id FOR UPDATE",
            part,
        ).fetchall()
        if not quiet:  # the estate's quiet hours and time zone, once a batch
            conn.execute(
                "SELECT estate_id, key, value FROM settings"
                " WHERE estate_id = %s OR estate_id IS NULL",
                [rows[0][1]],
            ).fetchall()
            conn.execute("SELECT * FROM estates WHERE id = %s", [rows[0][1]]).fetchall()
            quiet = True
        app_rows = [r for r in rows if r[5] == "app"]
        app_ids = [r[0] for r in app_rows]
        there = {
            r[0]
            for r in conn.execute(
                f"SELECT outbox_id FROM inbox_messages WHERE outbox_id IN {_in(app_ids)}",
                app_ids,
            )
        }
        unknown = sorted({r[4] for r in app_rows} - set(requires_ack))
        if unknown:
            for n, ack in conn.execute(
                f"SELECT id, requires_ack FROM notices WHERE id IN {_in(unknown)}", unknown
            ):
                requires_ack[n] = ack
        values = [
            (r[0], r[2], r[4], r[3], r[6], r[8], r[9], r[11], requires_ack[r[4]], now)
            for r in app_rows
            if r[0] not in there
        ]
        conn.execute(
            "INSERT INTO inbox_messages (outbox_id, user_id, notice_id, unit_id, kind, title,"
            " body, urgent, requires_ack, created_at) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(values)),
            [v for row in values for v in row],
        )
        sent = [r[0] for r in rows]
        conn.execute(
            "UPDATE outbox SET status = 'delivered', delivered_at = %s,"
            f" attempts = attempts + 1, last_error = NULL WHERE id IN {_in(sent)}",
            [now, *sent],
        )
        conn.commit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument(
        "--worker-class",
        nargs="+",
        choices=["fork", "simple", "as-is"],
        default=["fork", "simple"],
        help="as-is: `flask worker` with no flag (for --portal-dir)",
    )
    parser.add_argument(
        "--portal-dir",
        type=Path,
        help="run the worker of another checkout of the portal (an earlier commit, say)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds of each, interleaved")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from flask_migrate import upgrade

    from portal import create_app
    from portal.blueprints.notices.services import compose_notice
    from portal.core import settings
    from portal.core.people import User
    from portal.core.places import Estate
    from portal.extensions import db
    from portal.notify.models import OutboxMessage

    url = fresh_database()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS, "TESTING": False})
    with app.app_context():
        upgrade()
        build_estate(args.households)
        estate = db.session.scalar(select(Estate))
        actor = db.session.scalar(select(User).where(User.username == "bench-frontdesk"))
        settings.set_value("notify.quiet_hours", "00:00-00:00", actor=actor)  # measure sending
        db.session.commit()
        notice = compose_notice(
            actor, estate=estate, title="停水通知", channels=["app", "sms"], body="明日停水。"
        )
        db.session.commit()
        notice_id = notice.id
        rows = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.notice_id == notice_id)
        )
        db.session.remove()
    print(f"data: {args.households:,} households, {rows:,} outbox rows (in-app + SMS to the log)")
    results = []
    for _round in range(args.rounds):
        for worker_class in args.worker_class:
            results.append(portal_round(app, notice_id, rows, worker_class, url, args.portal_dir))
        results.append(raw_round(app, notice_id, rows, url))
    raw = max(rows / r["seconds"] for r in results if r["wall"] is None)
    print("| delivery | rows | seconds | rows/s | ratio to raw PostgreSQL | worker wall time |")
    print("|---|---|---|---|---|---|")
    for r in results:
        rate = rows / r["seconds"]
        wall = f"{r['wall']:.1f} s" if r["wall"] is not None else "–"
        print(
            f"| {r['what']} | {rows:,} | {r['seconds']:.1f} | {rate:,.0f} | {rate / raw:.2f} |"
            f" {wall} |"
        )
    with app.app_context():
        db.engine.dispose()
    drop_database()


if __name__ == "__main__":
    main()
