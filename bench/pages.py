"""Benchmark: the portal's hot pages beside a bare Flask app (issue 12).

Starts, on a fresh PostgreSQL database (migrated with `flask db upgrade`, loaded with the
demo generator through bench/scale.py: the demo estate, ×10 with `--data 10x`, plus
repairs), two servers under the same gunicorn settings (the project's gunicorn.conf.py,
`-w 4` sync workers, a free localhost port):

- the portal (wsgi:app) of `--portal-dir` (default: this checkout), with REDIS_URL set to a
  Redis database that must be empty (flushed at the end);
- bench/bare_app.py: one indexed SELECT of one row from the same database and one small
  Jinja template.

Then drives both with wrk at 10 connections in interleaved rounds — bare, page 1, bare,
page 2, …, bare — `--rounds` times, and prints for each hot page its req/s, p99 and the
ratio of its req/s to the bare app's in the neighbouring bare rounds (the mean over the
rounds), as a markdown table, with the machine's load average at the start of each round.
Every page is checked to answer 200 (not a redirect to the sign-in page) before it is timed.

    .venv/bin/python bench/pages.py [--data demo|10x] [--rounds 2] [--duration 20]
        [--portal-dir DIR] [--label TEXT] [--pages home,bills,...] [--keep]

`--portal-dir /tmp/before` measures another checkout (e.g. `git worktree add /tmp/before
9582078`) with this checkout's venv; `portal.__file__` is checked to come from it.
Needs PostgreSQL (PORTAL_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test;
a database portal_bench_pages_<data> is created and dropped at the end unless --keep),
Redis (--redis-url: a database number, or the first free one of 9 … 1, held like the
test suite holds its own and flushed at the end) and Debian's wrk.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402
    ROOT,
    Gunicorn,
    api_token,
    build_database,
    check_portal_code,
    claim_redis,
    cookie_header,
    drop_database,
    log,
    portal_env,
    release_redis,
    sign_in,
)

BENCH = Path(__file__).resolve().parent


@dataclass
class Page:
    key: str
    title: str
    path: str
    who: str | None  # a demo login; for an API page its token's owner; None: signed out
    api: bool = False


def hot_pages(unit_id: int) -> list[Page]:
    return [
        Page("home", "resident home `/`", "/", "resident"),
        Page("bills", "my bills `/fees/mine`", "/fees/mine", "resident"),
        Page("myrepairs", "my repairs `/repairs/`", "/repairs/", "resident"),
        Page("staffhome", "staff home `/` (frontdesk)", "/", "frontdesk"),
        Page("search", "unit search `/units/?q=101`", "/units/?q=101", "frontdesk"),
        Page("unit", "unit page `/units/<id>`", f"/units/{unit_id}", "frontdesk"),
        Page("repairs", "repairs list `/repairs/` (manager)", "/repairs/", "manager"),
        Page("report", "fee report `/reports/fees` (manager)", "/reports/fees", "manager"),
        Page("apiunits", "`GET /api/v1/units?q=1`", "/api/v1/units?q=1", "frontdesk", True),
        Page("apirepairs", "`GET /api/v1/repairs`", "/api/v1/repairs", "frontdesk", True),
        # The floor every page stands on, for the remaining-cost argument: the framework
        # alone, and a signed-in page with the layout and a form but no page data.
        Page("healthz", "reference: `/healthz` (no sign-in, no database)", "/healthz", None),
        Page(
            "layout",
            "reference: `/auth/password` (signed in: the layout and a form, no page data)",
            "/auth/password",
            "resident",
        ),
    ]


@dataclass
class Round:
    target: str  # "bare" or a page key
    load: float  # 1-minute load average at the start
    rps: float
    p99_ms: float
    errors: int


@dataclass
class Result:
    rounds: list[Round] = field(default_factory=list)


# ---------------------------------------------------------------- wrk

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(url: str, header: str | None, args) -> tuple[float, float, int]:
    """(req/s, p99 in ms, errors) of one wrk run."""
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    if header:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s|m)\b", out).groups()
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(found.group(1))
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in found.groups())
    return rps, float(value) * UNIT_MS[unit], errors


# ---------------------------------------------------------------- setup


def resident_unit(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT r.unit_id FROM residencies r JOIN users u ON u.id = r.user_id "
            "WHERE u.username = 'resident' ORDER BY r.id LIMIT 1"
        ).fetchone()[0]


def headers_for(base: str, pages: list[Page]) -> dict[str, str]:
    """The wrk header of each page: the session cookie or the Bearer token of its user,
    checked to answer 200 (and not the sign-in page)."""
    sessions, tokens, headers = {}, {}, {}
    for page in pages:
        if page.who is None:
            answer = requests.get(base + page.path, timeout=60)
            header = None
        elif page.api:
            if page.who not in tokens:
                tokens[page.who] = api_token(base, page.who)
            bearer = f"Bearer {tokens[page.who]}"
            answer = requests.get(base + page.path, headers={"Authorization": bearer}, timeout=60)
            header = f"Authorization: {bearer}"
        else:
            if page.who not in sessions:
                sessions[page.who] = sign_in(base, page.who)
            session = sessions[page.who]
            answer = session.get(base + page.path, allow_redirects=False, timeout=60)
            header = f"Cookie: {cookie_header(session)}"
        signed_out = 'name="login"' in answer.text  # the sign-in form, not the page
        if answer.status_code != 200 or signed_out:
            raise SystemExit(f"{page.path} as {page.who} answered {answer.status_code}")
        headers[page.key] = header
    return headers


# ---------------------------------------------------------------- report


def span(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    if fmt.format(low) == fmt.format(high):
        return fmt.format(low)
    return f"{fmt.format(low)}–{fmt.format(high)}"


def table(result: Result, pages: list[Page]) -> str:
    rounds = result.rounds
    bare = [r for r in rounds if r.target == "bare"]
    lines = [
        "| page | req/s | p99 | ratio to bare | errors |",
        "|---|---|---|---|---|",
        f"| bare Flask (1 indexed SELECT, 1 template) | {span([r.rps for r in bare], '{:.0f}')} "
        f"| {span([r.p99_ms for r in bare], '{:.0f}')} ms | 1 | {sum(r.errors for r in bare)} |",
    ]
    for page in pages:
        ratios, mine = [], []
        for i, r in enumerate(rounds):
            if r.target != page.key:
                continue
            mine.append(r)
            neighbours = [
                rounds[j].rps
                for j in (i - 1, i + 1)
                if 0 <= j < len(rounds) and rounds[j].target == "bare"
            ]
            ratios.append(r.rps / statistics.mean(neighbours))
        lines.append(
            f"| {page.title} | {span([r.rps for r in mine], '{:.0f}')} "
            f"| {span([r.p99_ms for r in mine], '{:.0f}')} ms "
            f"| {statistics.mean(ratios):.2f} | {sum(r.errors for r in mine)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", choices=("demo", "10x"), default="demo")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=20, help="seconds per round")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--portal-dir", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--label", help="what the run measures (default: the checkout's commit)")
    parser.add_argument("--pages", help="comma-separated keys of the pages to time (default all)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database")
    args = parser.parse_args()

    portal_dir = args.portal_dir.resolve()
    label = (
        args.label
        or subprocess.run(
            ["git", "-C", str(portal_dir), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )

    name = f"portal_bench_pages_{args.data}"
    url, sizes = build_database(name, args.data, portal_dir, reuse=args.reuse)
    redis_url = claim_redis(args.redis_url)
    env = portal_env(portal_dir, url, redis_url)
    imported_from = check_portal_code(portal_dir, env)
    pages = hot_pages(resident_unit(url))
    if args.pages:
        wanted = args.pages.split(",")
        pages = [p for p in pages if p.key in wanted]

    conf = ROOT / "gunicorn.conf.py"
    bare_env = dict(env, PYTHONPATH=str(BENCH))
    portal = bare = None
    result = Result()
    try:
        portal = Gunicorn(portal_dir, "wsgi:app", env, workers=args.workers, conf=conf)
        bare = Gunicorn(BENCH, "bare_app:app", bare_env, workers=args.workers, conf=conf)
        headers = headers_for(portal.base, pages)
        log(f"portal {portal.base} ({imported_from}), bare {bare.base}")
        wrk(bare.base + "/", None, argparse.Namespace(**{**vars(args), "duration": 3}))
        for number in range(1, args.rounds + 1):
            sequence = [("bare", None)]
            for page in pages:
                sequence += [(page.key, page), ("bare", None)]
            if number > 1:
                sequence = sequence[1:]  # the last bare round of the previous pass serves
            for key, page in sequence:
                load = os.getloadavg()[0]
                if page is None:
                    rps, p99, errors = wrk(bare.base + "/", None, args)
                else:
                    rps, p99, errors = wrk(portal.base + page.path, headers[key], args)
                result.rounds.append(Round(key, load, rps, p99, errors))
                log(f"pass {number} {key:10} load {load:4.2f}  {rps:7.1f} req/s  p99 {p99:6.1f} ms")
    finally:
        for server in (portal, bare):
            if server:
                server.stop()
        release_redis(redis_url)
        if not args.keep:
            drop_database(name)

    loads = [r.load for r in result.rounds]
    print(
        f"\n### {label} — data {args.data}: {sizes['units']:,} units, "
        f"{sizes['residencies']:,} residencies, {sizes['bills']:,} bills, "
        f"{sizes['payments']:,} payments, {sizes['repairs']:,} repairs\n"
    )
    print(
        f"gunicorn -w {args.workers} sync, wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s, {args.rounds} passes; nproc {os.cpu_count()}, load average at "
        f"round start {min(loads):.2f}–{max(loads):.2f} (mean {statistics.mean(loads):.2f})\n"
    )
    print(table(result, pages))
    print("\nRounds (in order):\n")
    print("| # | target | load avg | req/s | p99 ms | errors |\n|---|---|---|---|---|---|")
    for i, r in enumerate(result.rounds, 1):
        print(f"| {i} | {r.target} | {r.load:.2f} | {r.rps:.1f} | {r.p99_ms:.1f} | {r.errors} |")


if __name__ == "__main__":
    main()
