"""Benchmark: one notice to 20,000 households (PostgreSQL + Redis + real RQ workers).

Measures the time to write the outbox rows (the request's transaction), to relay them to
Redis, and to deliver them through the log channels with one and with two workers.

    .venv/bin/python bench/notice_fanout.py [--households 20000]

Needs PostgreSQL (PORTAL_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test;
a database portal_bench is created and dropped) and Redis (PORTAL_BENCH_REDIS_URL, default
redis://127.0.0.1:6379/14, flushed).
"""

import argparse
import logging
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, insert, make_url, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("PORTAL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("PORTAL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def fresh_database() -> str:
    url = make_url(SERVER.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "portal_bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "portal_bench"'))
    admin.dispose()
    return url.set(database="portal_bench").render_as_string(hide_password=False)


def build_estate(households: int):
    """One estate with `households` homes, one resident with a phone each (bulk inserts)."""
    from portal.core.people import Residency, StaffRole, User
    from portal.core.places import Building, Company, Estate, Unit, Zone
    from portal.extensions import db

    company = Company(name="基准物业")
    db.session.add(company)
    db.session.flush()
    estate = Estate(name="基准花园", company_id=company.id)
    db.session.add(estate)
    db.session.flush()
    per_building = 200
    buildings = []
    for z in range(households // (per_building * 20) + 1):
        zone = Zone(estate_id=estate.id, name=f"{z + 1}区")
        db.session.add(zone)
        db.session.flush()
        for b in range(20):
            building = Building(zone_id=zone.id, name=f"{b + 1}栋")
            db.session.add(building)
            buildings.append(building)
    db.session.flush()
    since = date(2024, 1, 1)
    units = [
        {
            "estate_id": estate.id,
            "building_id": buildings[i // per_building].id,
            "number": f"{i % per_building + 1:04d}",
            "kind": "residence",
            "area_m2": 9000,
            "occupancy": "occupied_renovated",
            "occupancy_since": since,
        }
        for i in range(households)
    ]
    db.session.execute(insert(Unit), units)
    unit_ids = db.session.scalars(select(Unit.id).order_by(Unit.id)).all()
    people = [
        {"name": f"住户{i}", "phone": f"139{i:08d}", "is_active": True, "session_version": 1}
        for i in range(households)
    ]
    db.session.execute(insert(User), people)
    user_ids = db.session.scalars(
        select(User.id).where(User.username.is_(None)).order_by(User.id)
    ).all()
    db.session.execute(
        insert(Residency),
        [
            {"unit_id": u, "user_id": p, "relation": "owner", "start_on": since}
            for u, p in zip(unit_ids, user_ids, strict=True)
        ],
    )
    staff = User(name="前台", username="bench-frontdesk")
    db.session.add(staff)
    db.session.flush()
    db.session.add(
        StaffRole(user_id=staff.id, company_id=company.id, estate_id=estate.id, role="frontdesk")
    )
    db.session.commit()
    return estate.id, staff.id


def run(households: int, workers: int, database_url: str) -> dict:
    from portal import create_app
    from portal.blueprints.notices.services import compose_notice
    from portal.core import settings
    from portal.core.people import User
    from portal.core.places import Estate
    from portal.extensions import db
    from portal.notify.models import Delivery, OutboxMessage
    from portal.notify.outbox import relay_due

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS, "TESTING": False}
    )
    with app.app_context():
        estate = db.session.scalar(select(Estate))
        actor = db.session.scalar(select(User).where(User.username == "bench-frontdesk"))
        settings.set_value("notify.quiet_hours", "00:00-00:00", actor=actor)  # measure sending
        db.session.commit()
        t0 = time.perf_counter()
        notice = compose_notice(
            actor,
            estate=estate,
            title="停水通知",
            channels=["app", "sms"],
            body="11月25日9:00-12:00停水，请提前储水。",
        )
        db.session.commit()
        written = time.perf_counter() - t0
        rows = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.notice_id == notice.id)
        )
        t0 = time.perf_counter()
        relayed = relay_due()
        relay = time.perf_counter() - t0
        env = dict(
            os.environ, DATABASE_URL=database_url, REDIS_URL=REDIS, PORTAL_SECRET_KEY="bench"
        )
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("flask")),
                    "--app",
                    "portal",
                    "worker",
                    "--burst",
                    "--no-cron",
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        for p in procs:
            p.wait()
        deliver = time.perf_counter() - t0
        delivered = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.notice_id == notice.id, OutboxMessage.status == Delivery.delivered)
        )
        db.session.remove()
        db.engine.dispose()
    return {
        "workers": workers,
        "households": notice.households,
        "rows": rows,
        "write_s": written,
        "relay_s": relay,
        "relayed": relayed,
        "deliver_s": deliver,
        "delivered": delivered,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from redis import Redis

    from portal import create_app
    from portal.extensions import db

    url = fresh_database()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": False})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        t0 = time.perf_counter()
        build_estate(args.households)
        print(f"data: {args.households} households built in {time.perf_counter() - t0:.1f} s")
        db.engine.dispose()
    results = []
    for workers in (1, 2):
        Redis.from_url(REDIS).flushdb()
        results.append(run(args.households, workers, url))
    print(
        "| workers | households | outbox rows | write rows + commit | relay to Redis | "
        "deliver (log channels) | rows/s delivered |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        assert r["delivered"] == r["rows"], r
        print(
            f"| {r['workers']} | {r['households']:,} | {r['rows']:,} | {r['write_s']:.2f} s | "
            f"{r['relay_s']:.2f} s | {r['deliver_s']:.1f} s | "
            f"{r['rows'] / r['deliver_s']:,.0f} |"
        )


if __name__ == "__main__":
    main()
