"""The benchmark dataset: the demo estate N times over, and repairs to list.

`--factor 1` is the demo estate as `flask --app portal demo` loads it (1,412 units); with
`--factor 10` the estate has its four zones ten times over (别墅区, A区 … and A区2 … A区10,
14,120 units), loaded by the same generator (portal/demo.py: importers, three monthly
billing runs, counter payments), so the data has the demo's shape and the demo logins. Then
repairs are added through the repairs service, reported by residents: one per
`--repairs-every` occupied units (half of them assigned to the technician), and three for
each demo resident, so the repair lists have rows to show.

Runs with the portal code of the current directory (bench/pages.py runs it from the
checkout under test, with PYTHONPATH and DATABASE_URL set):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/DB .venv/bin/python bench/scale.py \
        [--factor 10] [--repairs-every 20]

The database must be migrated (`flask --app portal db upgrade`) and hold no demo yet.
Takes about 20 s at factor 1 and a few minutes at factor 10 on the 2-core machine.
"""

import argparse
import sys
import time

CATEGORIES = ("plumbing_electrical", "civil", "smart_systems", "common_facilities", "other")


def scaled_unit_rows(factor: int):
    """portal.demo.unit_rows, with every zone repeated `factor` times (A区, A区2, …)."""
    import portal.demo

    original = portal.demo.unit_rows

    def unit_rows(rng):
        base = original(rng)
        rows = list(base)
        for copy in range(2, factor + 1):
            rows += [(f"{zone}{copy}", *rest) for zone, *rest in base]
        return rows

    return unit_rows


def add_repairs(every: int) -> int:
    """Repairs reported online by residents; half assigned. Their number."""
    from sqlalchemy import select

    from portal.blueprints.repairs import services
    from portal.core.people import Residency, User
    from portal.extensions import db

    technician = db.session.scalar(select(User).where(User.username == "technician"))
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    rows = db.session.execute(
        select(Residency.user_id, Residency.unit_id)
        .where(Residency.end_on.is_(None))
        .order_by(Residency.unit_id, Residency.id)
    ).all()
    demo = {
        r.id
        for r in db.session.scalars(
            select(User).where(User.username.in_(["resident", "resident2"]))
        )
    }
    picked, seen_units = [], set()
    for user_id, unit_id in rows:
        if user_id in demo:
            picked += [(user_id, unit_id)] * 3
        elif unit_id not in seen_units and len(seen_units) % every == 0:
            picked.append((user_id, unit_id))
        seen_units.add(unit_id)
    users = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_({p[0] for p in picked})))
    }
    for n, (user_id, unit_id) in enumerate(picked):
        repair = services.submit_repair(
            users[user_id],
            category=CATEGORIES[n % len(CATEGORIES)],
            location="unit",
            description=f"报修 {n}: 卫生间漏水，请尽快上门查看。",
            unit_id=unit_id,
        )
        if n % 2:
            db.session.flush()
            services.act(repair, "assign", actor=supervisor, data={"technician_id": technician.id})
        if n % 200 == 199:
            db.session.commit()
    db.session.commit()
    return len(picked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factor", type=int, default=1, help="copies of the demo estate's zones")
    parser.add_argument(
        "--repairs-every", type=int, default=20, help="one repair per this many occupied units"
    )
    args = parser.parse_args()

    import portal.demo
    from portal import create_app
    from portal.extensions import db

    app = create_app()
    with app.app_context():
        started = time.monotonic()
        if args.factor > 1:
            portal.demo.unit_rows = scaled_unit_rows(args.factor)
        if not portal.demo.load_demo():
            sys.exit("the demo estate is already there")
        db.session.commit()
        loaded = time.monotonic()
        repairs = add_repairs(args.repairs_every)
        print(
            f"demo ×{args.factor} loaded in {loaded - started:.0f} s; "
            f"{repairs} repairs in {time.monotonic() - loaded:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
