"""Benchmark: a billing run over 200,000 units and the fee report for a year (PostgreSQL).

Builds a company of estates with a year of monthly bills, payments and allocations
(2.4 M bills at the default size), then times, each side by side with hand-written SQL
that does the same work:

- the billing run: `bill_month()` for the next month, one BillingRun per estate (100 runs,
  each committed like the job does, times summed) against ONE `INSERT INTO bills … SELECT`
  over all estates; both must produce the same rows (target: within 3×);
- the fee report: `reports.fees.fee_figures()` for the year, for one estate and for every
  estate in turn, against ONE GROUP BY query per estate computing the same figures
  (target: within 1.5×).

    .venv/bin/python bench/fees.py [--units 200000] [--estates 100] [--months 12]
                                   [--keep] [--reuse]

Needs PostgreSQL (PORTAL_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test);
a database portal_bench_fees is created (with --reuse, an existing one is used as it is) and
dropped at the end unless --keep.
"""

import argparse
import logging
import os
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, make_url, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("PORTAL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
DATABASE = "portal_bench_fees"
LAST_DATA_MONTH = date(2026, 10, 1)  # the generated year ends with this month's bills
RECURRING = ("per_m2_month", "fixed_month")


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------- database and months


def admin_engine():
    url = make_url(SERVER.replace("postgresql://", "postgresql+psycopg://", 1))
    return url, create_engine(url, isolation_level="AUTOCOMMIT")


def prepare_database(reuse: bool) -> tuple[str, bool]:
    """(url, exists): a fresh database, or with `reuse` the existing one if there is one."""
    url, admin = admin_engine()
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE})
        if not (reuse and exists):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return url.set(database=DATABASE).render_as_string(hide_password=False), bool(reuse and exists)


def drop_database() -> None:
    _, admin = admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    admin.dispose()


def add_months(first: date, n: int) -> date:
    index = first.year * 12 + first.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(first: date) -> date:
    return add_months(first, 1) - timedelta(days=1)


def data_months(months: int) -> list[date]:
    return [add_months(LAST_DATA_MONTH, n - months + 1) for n in range(months)]


# ---------------------------------------------------------------- the hand-written billing SQL


def estate_config() -> str:
    """The billing settings of every estate, as a VALUES list for the hand-written SQL."""
    from portal.blueprints.fees.rules import DUE_DAYS, VACANT_PAY_PERCENT, vacant_occupancies
    from portal.core import settings
    from portal.core.places import Estate
    from portal.extensions import db

    rows = []
    for estate_id in db.session.scalars(select(Estate.id).order_by(Estate.id)):
        pay = int(settings.get(VACANT_PAY_PERCENT.key, estate_id))
        due = int(settings.get(DUE_DAYS.key, estate_id))
        vacant = ",".join(f"'{v}'" for v in sorted(vacant_occupancies(estate_id))) or "NULL"
        rows.append(f"({estate_id}, {pay}, {due}, ARRAY[{vacant}]::varchar[])")
    return ", ".join(rows)


def billing_sql(config: str, created_at: str = "now()", finished: bool = False) -> str:
    """ONE statement billing a month (:period, :start, :end) for every estate: it opens a
    billing run per estate and inserts the bills `bill_month` inserts for units whose
    category held the whole month — same amounts, discounts, notes and keys."""
    finished_at = created_at if finished else "NULL"
    return f"""
WITH cfg (estate_id, pay, due_days, vacant) AS (VALUES {config}),
ids AS MATERIALIZED (  -- each estate's run id, drawn first so no join is needed for it
    SELECT *, nextval(pg_get_serial_sequence('billing_runs', 'id')) AS run_id FROM cfg
),
runs AS (
    INSERT INTO billing_runs (id, estate_id, period, created_at, finished_at, summary)
    SELECT run_id, estate_id, :period, {created_at}, {finished_at}, '{{}}' FROM ids
),
rates AS MATERIALIZED (  -- the rate in force per item and category: its own, else the item's
    SELECT i.id AS item_id, i.estate_id, i.code, i.basis, i.unit_kind, o.occupancy,
           coalesce(
               (SELECT r.rate_fen FROM fee_rates r
                 WHERE r.fee_item_id = i.id AND r.occupancy = o.occupancy
                   AND r.effective_on <= :start
                 ORDER BY r.effective_on DESC, r.id DESC LIMIT 1),
               (SELECT r.rate_fen FROM fee_rates r
                 WHERE r.fee_item_id = i.id AND r.occupancy IS NULL
                   AND r.effective_on <= :start
                 ORDER BY r.effective_on DESC, r.id DESC LIMIT 1)) AS rate
      FROM fee_items i
     CROSS JOIN unnest(CAST(:billable AS varchar[])) AS o (occupancy)
     WHERE i.active AND i.basis IN ('per_m2_month', 'fixed_month')
),
charged AS (
    SELECT u.estate_id, u.id AS unit_id, ra.item_id, ra.code, u.occupancy, c.due_days, c.run_id,
           CASE WHEN ra.basis = 'per_m2_month' THEN (u.area_m2 * ra.rate + 50) / 100
                ELSE ra.rate END AS gross,
           CASE WHEN u.occupancy = ANY (c.vacant) THEN c.pay ELSE 100 END AS pay
      FROM units u
      JOIN ids c ON c.estate_id = u.estate_id
      JOIN rates ra ON ra.estate_id = u.estate_id AND ra.occupancy = u.occupancy
                   AND (ra.unit_kind IS NULL OR ra.unit_kind = u.kind)
     WHERE u.occupancy_since <= :start AND u.area_m2 > 0 AND ra.rate > 0
),
priced AS (
    SELECT *, CASE WHEN pay = 100 THEN gross ELSE (gross * pay + 50) / 100 END AS amount
      FROM charged
)
INSERT INTO bills (estate_id, unit_id, fee_item_id, occupancy, period_start, period_end,
                   due_on, gross_fen, discount_fen, amount_fen, discount_rule, discount_note,
                   source, source_key, run_id, created_at, created_by_id)
SELECT p.estate_id, p.unit_id, p.item_id, p.occupancy, :start, :end,
       CAST(:start AS date) + p.due_days, p.gross, p.gross - p.amount, p.amount,
       CASE WHEN p.pay <> 100 THEN 'vacant' END,
       CASE WHEN p.pay <> 100 THEN '未入住按 ' || p.pay || '% 收取' END,
       'run', 'run:' || :period || ':' || p.code, p.run_id, {created_at}, NULL
  FROM priced p
 WHERE p.amount > 0
   AND NOT EXISTS (SELECT 1 FROM bills b
                    WHERE b.unit_id = p.unit_id
                      AND b.source_key = 'run:' || :period || ':' || p.code)
"""


def billing_params(first: date) -> dict:
    from portal.blueprints.fees.rules import NOT_BILLED
    from portal.core.places import Occupancy

    return {
        "period": first.strftime("%Y-%m"),
        "start": first,
        "end": month_end(first),
        "billable": [o.value for o in Occupancy if o not in NOT_BILLED],
    }


# ---------------------------------------------------------------- the generator


def generate(units: int, estates: int, months: int) -> None:
    """A company of `estates` estates with `units` units between them, fee items and rates,
    `months` months of bills, payments and allocations — all set-based SQL."""
    from portal.blueprints.fees.rules import (
        VACANT_OCCUPANCIES,
        VACANT_PAY_PERCENT,
    )
    from portal.core import settings
    from portal.core.people import User
    from portal.core.places import Company, Estate
    from portal.extensions import db

    t0 = time.perf_counter()
    company = Company(name="基准物业集团")
    admin = User(name="基准管理员", username="bench-admin")
    db.session.add_all([company, admin])
    db.session.flush()
    estate_ids = []
    for e in range(estates):
        estate = Estate(name=f"基准花园{e + 1:03d}", company_id=company.id)
        db.session.add(estate)
        db.session.flush()
        estate_ids.append(estate.id)
        if e % 10 == 3:  # a few estates have their own vacant-unit policy
            settings.set_value(VACANT_PAY_PERCENT.key, 60, actor=admin, estate_id=estate.id)
            settings.set_value(
                VACANT_OCCUPANCIES.key, "vacant,renovated_vacant", actor=admin, estate_id=estate.id
            )
    db.session.commit()
    run = db.session.execute
    # Zones (4 per estate) and buildings (5 per zone); 2,000 units make 100 per building.
    run(
        text("""
        INSERT INTO zones (estate_id, name)
        SELECT e.id, (ARRAY['A区', 'B区', 'C区', '别墅区'])[z]
          FROM estates e CROSS JOIN generate_series(1, 4) z""")
    )
    run(
        text("""
        INSERT INTO buildings (zone_id, name)
        SELECT z.id, b || '栋' FROM zones z CROSS JOIN generate_series(1, 5) b""")
    )
    # Units: estate e gets units // estates (the first units % estates get one more); the
    # unit's kind, category and area come from a deterministic hash of its position.
    run(
        text("""
        WITH e AS (
            SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM estates
        ), slots AS (
            SELECT e.id AS estate_id, g AS i,
                   (hashint8(e.id * 1000003 + g) & 2147483647) % 10000 AS h1,
                   (hashint8(e.id * 1000033 + g + 7) & 2147483647) % 10000 AS h2
              FROM e CROSS JOIN LATERAL generate_series(
                  0, :per + CASE WHEN e.n < :extra THEN 1 ELSE 0 END - 1) g
        ), b AS (
            SELECT bu.id, z.estate_id,
                   row_number() OVER (PARTITION BY z.estate_id ORDER BY bu.id) - 1 AS n,
                   count(*) OVER (PARTITION BY z.estate_id) AS per_estate
              FROM buildings bu JOIN zones z ON z.id = bu.zone_id
        ), kinds AS (
            SELECT s.*, CASE WHEN h1 < 8000 THEN 'residence' WHEN h1 < 9200 THEN 'parking'
                             WHEN h1 < 9600 THEN 'shop' ELSE 'storage' END AS kind
              FROM slots s
        )
        INSERT INTO units (estate_id, building_id, number, kind, area_m2, occupancy,
                           occupancy_since, created_at)
        SELECT k.estate_id, b.id,
               CASE k.kind WHEN 'parking' THEN 'P' WHEN 'shop' THEN 'S' WHEN 'storage' THEN 'C'
                           ELSE '' END || to_char(k.i, 'FM000000'),
               k.kind,
               CASE k.kind WHEN 'residence' THEN 6000 + h2 * 12000 / 10000
                           WHEN 'shop' THEN 3000 + h2 * 17000 / 10000
                           WHEN 'parking' THEN 1250
                           ELSE 500 + h2 * 1000 / 10000 END,
               CASE WHEN h2 % 100 < 55 THEN 'occupied_renovated'
                    WHEN h2 % 100 < 65 THEN 'occupied_unrenovated'
                    WHEN h2 % 100 < 69 THEN 'renovating'
                    WHEN h2 % 100 < 75 THEN 'renovated_vacant'
                    WHEN h2 % 100 < 91 THEN 'vacant'
                    WHEN h2 % 100 < 95 THEN 'unsold_leased'
                    WHEN h2 % 100 < 98 THEN 'leased_back'
                    ELSE 'not_handed_over' END,
               DATE '2023-06-30' - (h1 % 1200),
               TIMESTAMP '2019-01-01 00:00'
          FROM kinds k
          JOIN b ON b.estate_id = k.estate_id AND b.n = k.i % b.per_estate"""),
        {"per": units // estates, "extra": units % estates},
    )
    from portal.core.units import fill_missing_sort_keys

    fill_missing_sort_keys()  # the unit list's order, which set-based inserts do not fill
    run(
        text("""
        INSERT INTO unit_occupancies (unit_id, occupancy, effective_on, recorded_at)
        SELECT id, occupancy, occupancy_since, TIMESTAMP '2019-01-01 00:00' FROM units""")
    )
    # Rates per estate: the residence fee moves to an estate's own rate (1.80–3.50 元/m²)
    # in 2025 and up by 0.20 元 in mid-2026 for a third of the estates; a quarter of the
    # estates charge unrenovated occupied homes less; parking differs by estate.
    run(
        text("""
        INSERT INTO fee_rates (fee_item_id, occupancy, effective_on, rate_fen, created_at)
        SELECT i.id, NULL, DATE '2025-01-01', 180 + (i.estate_id * 37) % 171, now()
          FROM fee_items i WHERE i.code = 'property_residence'
        UNION ALL
        SELECT i.id, NULL, DATE '2026-07-01', 200 + (i.estate_id * 37) % 171, now()
          FROM fee_items i WHERE i.code = 'property_residence' AND i.estate_id % 3 = 0
        UNION ALL
        SELECT i.id, 'occupied_unrenovated', DATE '2025-01-01', 150 + (i.estate_id * 37) % 100,
               now()
          FROM fee_items i WHERE i.code = 'property_residence' AND i.estate_id % 4 = 1
        UNION ALL
        SELECT i.id, NULL, DATE '2025-01-01', 6000 + (i.estate_id % 5) * 1000, now()
          FROM fee_items i WHERE i.code = 'parking'""")
    )
    db.session.commit()
    log(f"  places and rates: {time.perf_counter() - t0:.1f} s")

    # Bills: the year's billing runs, each month by the same statement the benchmark times
    # (so the generated bills are exactly what the runs would have billed).
    config = estate_config()
    run(text("SET session_replication_role = replica"))  # bulk load: skip FK triggers
    t0 = time.perf_counter()
    for first in data_months(months):
        run(
            text(billing_sql(config, "CAST(:created AS timestamp)", finished=True)),
            billing_params(first) | {"created": datetime.combine(first, datetime.min.time())},
        )
    db.session.commit()
    log(f"  bills: {time.perf_counter() - t0:.1f} s")

    # Payments: one per bill with the payment id equal to the bill's, so the allocation
    # is a join. Most units pay every month (some late, a few after the report year
    # ends); 10 % stopped paying at some month (half of those paid part of that month's
    # bill); 2 % paid their last bill four times over and hold credit.
    t0 = time.perf_counter()
    run(
        text("""
        CREATE TEMP TABLE plan AS
        SELECT b.id, b.estate_id, b.unit_id, b.amount_fen AS bill_fen,
               b.due_on - 10 + (b.unit_id * 7 % 30) AS paid_on,
               CASE WHEN p.profile = 'arrears' AND m.idx = p.stop THEN
                        CASE WHEN b.unit_id % 2 = 1 AND b.amount_fen >= 2
                             THEN b.amount_fen / 2 END
                    WHEN p.profile = 'arrears' AND m.idx > p.stop THEN NULL
                    WHEN p.profile = 'credit' AND m.idx = m.last THEN b.amount_fen * 4
                    ELSE b.amount_fen END AS paid_fen
          FROM bills b
          JOIN LATERAL (
              SELECT CASE WHEN (b.unit_id * 37) % 100 < 2 THEN 'credit'
                          WHEN (b.unit_id * 37) % 100 < 12 THEN 'arrears'
                          ELSE 'monthly' END AS profile,
                     b.unit_id % :months AS stop) p ON true
          JOIN LATERAL (
              SELECT (extract(year FROM b.period_start) * 12
                      + extract(month FROM b.period_start))::int
                     - (extract(year FROM CAST(:first AS date)) * 12
                        + extract(month FROM CAST(:first AS date)))::int AS idx,
                     :months - 1 AS last) m ON true"""),
        {"months": months, "first": data_months(months)[0]},
    )
    run(text("DELETE FROM plan WHERE paid_fen IS NULL"))
    run(
        text("""
        INSERT INTO payments (id, estate_id, unit_id, amount_fen, method, paid_on, source,
                              receipt_number, created_at)
        SELECT id, estate_id, unit_id, paid_fen,
               (ARRAY['wechat', 'alipay', 'cash', 'card', 'transfer', 'online'])[id % 6 + 1],
               paid_on, CASE WHEN id % 6 = 5 THEN 'online' ELSE 'counter' END,
               'SJ' || CASE WHEN estate_id < 10000 THEN lpad(estate_id::text, 4, '0')
                            ELSE estate_id::text END
                    || to_char(paid_on, 'YYYYMMDD') || CASE WHEN n < 10000
                    THEN lpad(n::text, 4, '0') ELSE n::text END,
               paid_on + TIME '02:00'
          FROM (SELECT *, row_number() OVER (PARTITION BY estate_id, paid_on ORDER BY id) AS n
                  FROM plan) numbered""")
    )
    run(text("SELECT setval('payments_id_seq', (SELECT max(id) FROM payments))"))
    run(
        text("""
        INSERT INTO ticket_counters (estate_id, kind, day, value)
        SELECT estate_id, 'receipt', to_char(paid_on, 'YYYYMMDD'), count(*)
          FROM plan GROUP BY estate_id, paid_on""")
    )
    run(
        text("""
        INSERT INTO allocations (payment_id, bill_id, amount_fen, applied_on, created_at)
        SELECT id, id, least(paid_fen, bill_fen), paid_on, paid_on + TIME '02:00' FROM plan""")
    )
    run(text("DROP TABLE plan"))
    run(text("SET session_replication_role = DEFAULT"))
    db.session.commit()
    log(f"  payments and allocations: {time.perf_counter() - t0:.1f} s")
    vacuum("")


def vacuum(tables: str) -> None:
    from portal.extensions import db

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM (ANALYZE) {tables}"))


def describe() -> dict:
    from portal.extensions import db

    row = db.session.execute(
        text("""
        SELECT (SELECT count(*) FROM estates), (SELECT count(*) FROM units),
               (SELECT count(*) FROM bills), (SELECT count(*) FROM payments),
               (SELECT count(*) FROM allocations),
               (SELECT min(period_start) FROM bills), (SELECT max(period_end) FROM bills),
               pg_size_pretty(pg_database_size(current_database()))""")
    ).one()
    keys = ("estates", "units", "bills", "payments", "allocations", "first", "last", "size")
    return dict(zip(keys, row, strict=True))


# ---------------------------------------------------------------- the billing benchmark


def fingerprint(period: str) -> dict:
    """Per item code and category: bills, Σ amount, Σ discount, Σ gross and a checksum
    of every row's content (unit, key, dates, amounts, rule, note)."""
    from portal.extensions import db

    rows = db.session.execute(
        text("""
        SELECT i.code, b.occupancy, count(*), sum(b.amount_fen), sum(b.discount_fen),
               sum(b.gross_fen),
               sum(hashtext(concat_ws('|', b.estate_id, b.unit_id, b.fee_item_id,
                   b.occupancy, b.period_start, b.period_end, b.due_on, b.gross_fen,
                   b.discount_fen, b.amount_fen, b.discount_rule, b.discount_note, b.source,
                   b.source_key, r.estate_id))::bigint)
          FROM bills b JOIN fee_items i ON i.id = b.fee_item_id
          JOIN billing_runs r ON r.id = b.run_id
         WHERE r.period = :period
         GROUP BY i.code, b.occupancy ORDER BY 1, 2"""),
        {"period": period},
    ).all()
    return {(code, occ): tuple(int(v) for v in rest) for code, occ, *rest in rows}


def undo_period(period: str) -> None:
    """Remove what a billing of `period` wrote, so the next one starts from the same data."""
    from portal.extensions import db

    # Children are deleted first; skip the FK triggers (bills.run_id has no index, so each
    # deleted run would otherwise scan the whole bills table for referencing rows).
    db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(
        text("""
        DELETE FROM allocations WHERE bill_id IN (
            SELECT b.id FROM bills b JOIN billing_runs r ON r.id = b.run_id
             WHERE r.period = :p)"""),
        {"p": period},
    )
    db.session.execute(
        text("""
        DELETE FROM bills WHERE run_id IN (SELECT id FROM billing_runs WHERE period = :p)"""),
        {"p": period},
    )
    db.session.execute(text("DELETE FROM billing_runs WHERE period = :p"), {"p": period})
    db.session.commit()
    vacuum("bills, allocations, billing_runs")


class Phases:
    """Wall time spent in bill_month's steps, by monkeypatching the billing module."""

    NAMES = (
        "_insert_month",
        "_bill_changed_units",
        "_bill_paid_services",
        "_allocate_credit",
        "_summary",
    )

    def __init__(self):
        from portal.blueprints.fees import billing

        self.module = billing
        self.seconds = defaultdict(float)
        self.saved = {}

    def __enter__(self):
        for name in self.NAMES:
            original = getattr(self.module, name)
            self.saved[name] = original

            def timed(*args, _original=original, _name=name, **kwargs):
                t0 = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds[_name] += time.perf_counter() - t0

            setattr(self.module, name, timed)
        return self

    def __exit__(self, *exc):
        for name, original in self.saved.items():
            setattr(self.module, name, original)


def app_billing(first: date) -> tuple[float, dict, dict]:
    """bill_month() for every estate, one run and one commit each (as the job does)."""
    from portal.blueprints.fees.billing import bill_month
    from portal.blueprints.fees.models import BillingRun
    from portal.core.places import Estate
    from portal.extensions import db

    period = first.strftime("%Y-%m")
    estate_ids = db.session.scalars(select(Estate.id).order_by(Estate.id)).all()
    db.session.commit()
    with Phases() as phases:
        t0 = time.perf_counter()
        for estate_id in estate_ids:
            run = BillingRun(estate_id=estate_id, period=period)
            db.session.add(run)
            db.session.flush()
            bill_month(run)
            db.session.commit()
        seconds = time.perf_counter() - t0
    return seconds, dict(phases.seconds), fingerprint(period)


def hand_billing(first: date) -> tuple[float, dict]:
    """The hand-written statement for every estate at once, and its commit."""
    from portal.extensions import db

    sql = text(billing_sql(estate_config()))
    params = billing_params(first)
    db.session.commit()
    t0 = time.perf_counter()
    db.session.execute(sql, params)
    db.session.commit()
    seconds = time.perf_counter() - t0
    return seconds, fingerprint(params["period"])


def bench_billing(months: int, repeat: int) -> dict:
    first = add_months(LAST_DATA_MONTH, 1)
    period = first.strftime("%Y-%m")
    hand_times, app_times, phase_list = [], [], []
    for n in range(repeat):
        seconds, hand_print = hand_billing(first)
        hand_times.append(seconds)
        log(f"  hand-written INSERT … SELECT ({n + 1}/{repeat}): {seconds:.2f} s")
        undo_period(period)
        seconds, phases, app_print = app_billing(first)
        app_times.append(seconds)
        phase_list.append(phases)
        log(
            f"  bill_month × estates ({n + 1}/{repeat}): {seconds:.2f} s  "
            + ", ".join(f"{k.strip('_')} {v:.2f} s" for k, v in phases.items())
        )
        undo_period(period)
        if app_print != hand_print:
            for key in sorted(set(app_print) | set(hand_print)):
                if app_print.get(key) != hand_print.get(key):
                    log(f"  MISMATCH {key}: app {app_print.get(key)} hand {hand_print.get(key)}")
            raise SystemExit("the billing run and the hand-written SQL billed different rows")
    bills = sum(v[0] for v in app_print.values())
    amount = sum(v[1] for v in app_print.values())
    discount = sum(v[2] for v in app_print.values())
    log(
        f"  identical rows: {bills:,} bills, amount {amount:,} fen, discount {discount:,} fen "
        f"({len(app_print)} item × category groups, per-row checksums equal)"
    )
    best = min(range(repeat), key=lambda i: app_times[i])
    return {
        "period": period,
        "bills": bills,
        "amount": amount,
        "discount": discount,
        "app": min(app_times),
        "hand": min(hand_times),
        "phases": phase_list[best],
        "ratio": min(app_times) / min(hand_times),
    }


# ---------------------------------------------------------------- the report benchmark


def report_module():
    import importlib

    try:
        from portal.blueprints.reports import fees

        fees = importlib.reload(fees)
    except Exception:  # noqa: BLE001 — absent or half-written
        return None
    return fees if hasattr(fees, "fee_figures") else None


REPORT_SQL = """
WITH owed AS (  -- the estate's live bills due in the window, and what was applied by :to
    SELECT b.id, b.unit_id, b.occupancy, b.amount_fen, b.discount_fen,
           coalesce(sum(a.amount_fen) FILTER (WHERE a.applied_on <= :to), 0) AS paid
      FROM bills b
      LEFT JOIN allocations a ON a.bill_id = b.id
     WHERE b.estate_id = :estate AND b.due_on BETWEEN :from AND :to
       AND NOT EXISTS (SELECT 1 FROM bill_reversals r WHERE r.bill_id = b.id)
     GROUP BY b.id
), households AS (  -- per unit and category; paid_up: all of the unit's bills are paid
    SELECT o.unit_id, o.occupancy, bu.zone_id, sum(o.amount_fen) AS receivable,
           sum(o.paid) AS received, sum(o.discount_fen) AS discounts,
           bool_and(o.paid >= o.amount_fen) AS paid_here,
           bool_and(bool_and(o.paid >= o.amount_fen)) OVER (PARTITION BY o.unit_id) AS paid_up
      FROM owed o
      JOIN units u ON u.id = o.unit_id
      JOIN buildings bu ON bu.id = u.building_id
     GROUP BY o.unit_id, o.occupancy, bu.zone_id
)
SELECT GROUPING(occupancy) AS by_occ, GROUPING(zone_id) AS by_zone, occupancy, zone_id,
       CASE WHEN GROUPING(occupancy) = 0 THEN count(*) ELSE count(DISTINCT unit_id) END,
       CASE WHEN GROUPING(occupancy) = 0 THEN count(*) FILTER (WHERE paid_here)
            ELSE count(DISTINCT unit_id) FILTER (WHERE paid_up) END,
       sum(receivable), sum(received), sum(receivable - received), sum(discounts)
  FROM households
 GROUP BY GROUPING SETS ((), (occupancy), (zone_id))
"""


def hand_report(estate_id: int, start: date, end: date) -> list:
    from portal.extensions import db

    return db.session.execute(
        text(REPORT_SQL), {"estate": estate_id, "from": start, "to": end}
    ).all()


def bench_report(months: int, wait_minutes: float) -> dict | None:
    from portal.core.places import Estate
    from portal.extensions import db

    deadline = time.monotonic() + wait_minutes * 60
    start, end = data_months(months)[0], month_end(LAST_DATA_MONTH)
    while True:  # another change may still be writing the report: poll until it works
        module, problem = report_module(), "portal/blueprints/reports/fees.py:fee_figures missing"
        if module is not None:
            try:
                module.fee_figures(db.session.scalar(select(Estate.id)), start, end)
                break
            except Exception as exc:  # noqa: BLE001 — report it and wait for a fix
                db.session.rollback()
                problem = f"fee_figures() fails: {type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            log(f"  {problem}; report not timed")
            return None
        log(f"  {problem}; checking again in a minute")
        time.sleep(60)
    estate_ids = db.session.scalars(select(Estate.id).order_by(Estate.id)).all()
    one = estate_ids[len(estate_ids) // 2]
    figures = module.fee_figures(one, start, end)  # warm the cache, then measure
    hand_report(one, start, end)

    def timed(fn, ids, rounds):
        best = None
        for _ in range(rounds):
            t0 = time.perf_counter()
            out = [fn(e) for e in ids]
            seconds = time.perf_counter() - t0
            best = seconds if best is None else min(best, seconds)
        db.session.rollback()
        return best, out

    app_one, _ = timed(lambda e: module.fee_figures(e, start, end), [one], 5)
    hand_one, _ = timed(lambda e: hand_report(e, start, end), [one], 5)
    app_all, app_out = timed(lambda e: module.fee_figures(e, start, end), estate_ids, 2)
    hand_all, hand_out = timed(lambda e: hand_report(e, start, end), estate_ids, 2)
    checked = compare_report(app_out, hand_out)
    return {
        "from": start,
        "to": end,
        "estate": one,
        "figures": figures,
        "app_one": app_one,
        "hand_one": hand_one,
        "app_all": app_all,
        "hand_all": hand_all,
        "ratio_one": app_one / hand_one,
        "ratio_all": app_all / hand_all,
        "estates": len(estate_ids),
        "checked": checked,
    }


def _money(value) -> int:
    """Report money may be fen (int) or a Decimal/str of yuan; compare in fen."""
    from decimal import Decimal

    if isinstance(value, int):
        return value
    return int(Decimal(str(value)) * 100)


def compare_report(app_out: list, hand_out: list) -> str:
    """The figures of every estate agree: totals, by category and by zone."""
    from portal.core.places import Zone
    from portal.extensions import db

    zone_names = dict(db.session.execute(select(Zone.id, Zone.name)).all())
    fields = (
        "billed_households",
        "paid_households",
        "receivable",
        "received",
        "arrears",
        "discounts",
    )
    compared = 0
    for app, hand in zip(app_out, hand_out, strict=True):
        expected = {}
        for by_occ, by_zone, occ, zone_id, *values in hand:
            key = (
                ("totals",)
                if by_occ and by_zone
                else (("zone", zone_names[zone_id]) if by_occ else ("occupancy", occ))
            )
            expected[key] = dict(zip(fields, (int(v or 0) for v in values), strict=True))
        got = {("totals",): app["totals"]}
        for row in app.get("by_occupancy", []):
            got[("occupancy", row["occupancy"])] = row
        for row in app.get("by_zone", []):
            got[("zone", row["zone"])] = row
        for key, want in expected.items():
            have = got.get(key)
            if have is None:
                raise SystemExit(f"report mismatch: {key} missing from fee_figures()")
            for field, value in want.items():
                if field in ("billed_households", "paid_households"):
                    same = int(have[field]) == value
                else:
                    same = _money(have[field]) == value
                if not same:
                    raise SystemExit(
                        f"report mismatch {key} {field}: fee_figures {have[field]} hand {value}"
                    )
                compared += 1
    return f"{compared:,} figures over {len(app_out)} estates agree"


# ---------------------------------------------------------------- main


def machine() -> str:
    from portal.extensions import db

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pg = db.session.scalar(text("SHOW server_version"))
    buffers = db.session.scalar(text("SHOW shared_buffers"))
    work = db.session.scalar(text("SHOW work_mem"))
    return (
        f"nproc {os.cpu_count()}, RAM {mem:.1f} GiB, PostgreSQL {pg} "
        f"(shared_buffers {buffers}, work_mem {work})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200_000)
    parser.add_argument("--estates", type=int, default=100)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=1, help="billing rounds (best is kept)")
    parser.add_argument("--keep", action="store_true", help="leave the database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the existing database (skip generation) if there is one",
    )
    parser.add_argument(
        "--wait-report",
        type=float,
        default=0,
        metavar="MINUTES",
        help="wait this long for reports.fees.fee_figures to appear",
    )
    parser.add_argument("--skip-billing", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from portal import create_app
    from portal.extensions import db

    url, reused = prepare_database(args.reuse)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": False})
    with app.app_context():
        log(machine())
        if reused:
            log(f"data: reusing database {DATABASE}")
        else:
            from flask_migrate import upgrade

            upgrade()
            t0 = time.perf_counter()
            log(
                f"data: generating {args.units:,} units in {args.estates} estates, "
                f"{args.months} months"
            )
            generate(args.units, args.estates, args.months)
            log(f"data: generated in {time.perf_counter() - t0:.1f} s")
        facts = describe()
        log(
            "data: "
            + ", ".join(
                f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in facts.items()
            )
        )
        months = args.months
        billing = None
        if not args.skip_billing:
            log(f"billing run for {add_months(LAST_DATA_MONTH, 1):%Y-%m}:")
            billing = bench_billing(months, args.repeat)
        log("fee report:")
        report = bench_report(months, args.wait_report)
        db.session.remove()
        db.engine.dispose()
    if not args.keep:
        drop_database()

    print()
    print(
        f"| data | {facts['estates']} estates, {facts['units']:,} units, "
        f"{facts['bills']:,} bills, {facts['payments']:,} payments, "
        f"{facts['allocations']:,} allocations ({facts['size']}) |"
    )
    print("|---|---|")
    if billing:
        print(
            f"| billing run {billing['period']}: bill_month × {facts['estates']} estates "
            f"| {billing['app']:.2f} s |"
        )
        print(
            f"| one hand-written INSERT … SELECT ({billing['bills']:,} bills) "
            f"| {billing['hand']:.2f} s |"
        )
        print(f"| ratio (target ≤ 3×) | {billing['ratio']:.2f}× |")
        print(
            "| bill_month phases | "
            + ", ".join(f"{k.strip('_')} {v:.2f} s" for k, v in billing["phases"].items())
            + " |"
        )
    if report:
        n = report["estates"]
        print(
            f"| fee report {report['from']}–{report['to']}, one estate: fee_figures "
            f"| {report['app_one'] * 1000:.0f} ms |"
        )
        print(f"| one hand-written GROUP BY, one estate | {report['hand_one'] * 1000:.0f} ms |")
        print(f"| ratio, one estate (target ≤ 1.5×) | {report['ratio_one']:.2f}× |")
        print(f"| fee report, all {n} estates in turn: fee_figures | {report['app_all']:.2f} s |")
        print(f"| hand-written GROUP BY × {n} estates | {report['hand_all']:.2f} s |")
        print(f"| ratio, all estates (target ≤ 1.5×) | {report['ratio_all']:.2f}× |")
        print(f"| check | {report['checked']} |")
        print(f"| one estate's totals | {report['figures']['totals']} |")


if __name__ == "__main__":
    main()
