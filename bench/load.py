"""Load test: 50 simulated users for 60 s against the portal under gunicorn on PostgreSQL,
with the RQ worker running (issue 12).

Builds a fresh database (the demo estate and repairs, as bench/pages.py; `--data 10x` for
ten times the data), gives the demo password to `--residents` residents of units that owe
something, starts gunicorn (the project's gunicorn.conf.py, `-w 4` sync unless
`--workers`) and `flask --app portal worker` with REDIS_URL on a Redis database that must
be empty (flushed at the end), and runs the users as threads, each signed in once and then
acting in a loop with a think time of `--think` s (±50 %) between requests:

- residents browsing: the home page, my bills, my repairs, my notices;
- residents paying (one loop in four): 1.00 yuan online for their unit — the pay form,
  the sandbox provider's page and its signed answer (the provider's return), the order;
- clerks (frontdesk) searching units by room number and taking counter payments: the
  counter page, then its payment form with its CSRF token and idempotency key;
- API readers with a Bearer token: units by room number, a unit, repairs, a unit's bills.

Every request is timed on its own (redirects are followed as requests of their own). Any
answer other than 2xx/3xx, or an exception, is an error. Prints per kind and overall:
requests, errors, p50/p95/p99 and req/s, as a markdown table. Target: 0 errors, p99 ≤ 250 ms.

    .venv/bin/python bench/load.py [--users 50] [--duration 60] [--think 1.0]
        [--residents 30] [--clerks 10] [--workers 4] [--portal-dir DIR] [--keep]

Needs PostgreSQL (PORTAL_BENCH_DATABASE_URL; database portal_bench_load_<data>, dropped at
the end unless --keep) and Redis (--redis-url: a database number, or the first free one of
9 … 1, held like the test suite holds its own and flushed at the end).
"""

import argparse
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402
    DEMO_PASSWORD,
    ROOT,
    VENV_BIN,
    Gunicorn,
    api_token,
    build_database,
    check_portal_code,
    claim_redis,
    csrf_token,
    drop_database,
    log,
    portal_env,
    release_redis,
    sign_in,
)

ROOMS = ("101", "1-101", "1-1-101", "1栋1单元101", "202", "305", "1单元5", "A区2栋")


class Stats:
    """Latencies and errors per kind of request, shared by the users' threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.errors = defaultdict(int)
        self.samples = defaultdict(list)

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if error:
                self.errors[kind] += 1
                if len(self.samples[kind]) < 5:
                    self.samples[kind].append(error)


class User:
    """One simulated user: a signed-in session and a loop of actions until `stop_at`."""

    def __init__(self, base: str, stats: Stats, think: float, stop_at: float, rng: random.Random):
        self.base, self.stats, self.think, self.stop_at, self.rng = base, stats, think, stop_at, rng
        self.http = requests.Session()

    def request(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        started = time.perf_counter()
        try:
            answer = self.http.request(
                method, self.base + path, allow_redirects=False, timeout=30, **kwargs
            )
        except requests.RequestException as exc:
            self.stats.record(kind, time.perf_counter() - started, f"{path}: {exc!r}")
            return None
        elapsed = time.perf_counter() - started
        bad = answer.status_code >= 400
        self.stats.record(kind, elapsed, f"{method} {path}: {answer.status_code}" if bad else None)
        return None if bad else answer

    def follow(self, kind: str, answer: requests.Response | None) -> requests.Response | None:
        """Follow a redirect as a request of its own."""
        while answer is not None and answer.is_redirect:
            location = answer.headers["Location"]
            path = location.split(self.base, 1)[-1] if location.startswith("http") else location
            answer = self.request(kind, "GET", path)
        return answer

    def pause(self) -> bool:
        """Think, then say whether there is time for another action."""
        time.sleep(self.think * self.rng.uniform(0.5, 1.5))
        return time.monotonic() < self.stop_at

    def run(self) -> None:
        while self.pause():
            self.act()

    def act(self) -> None:
        raise NotImplementedError


class Resident(User):
    def __init__(self, *args, login: str, unit_id: int):
        super().__init__(*args)
        self.unit_id = unit_id
        self.http = sign_in(self.base, login)

    def act(self) -> None:
        if self.rng.random() < 0.25:
            self.pay()
            return
        path = self.rng.choice(("/", "/fees/mine", "/repairs/", "/notices/"))
        self.request("resident browse", "GET", path)

    def pay(self) -> None:
        kind = "resident pay"
        mine = self.request(kind, "GET", "/fees/mine")
        if mine is None or not self.pause():
            return
        form = {"csrf_token": csrf_token(mine.text), "unit_id": self.unit_id, "amount": "1.00"}
        sandbox = self.follow(kind, self.request(kind, "POST", "/fees/pay", data=form))
        if sandbox is None or "/sandbox/" not in sandbox.url or not self.pause():
            if sandbox is not None and "/sandbox/" not in sandbox.url:
                self.stats.record(kind, 0, f"pay did not reach the sandbox: {sandbox.url}")
            return
        path = sandbox.url.split(self.base, 1)[-1]
        form = {"csrf_token": csrf_token(sandbox.text), "succeed": "1"}
        self.follow(kind, self.request(kind, "POST", path, data=form))


class Clerk(User):
    def __init__(self, *args, unit_ids: list[int]):
        super().__init__(*args)
        self.unit_ids = unit_ids
        self.http = sign_in(self.base, "frontdesk")

    def act(self) -> None:
        self.request("clerk search", "GET", "/units/", params={"q": self.rng.choice(ROOMS)})
        if self.rng.random() < 0.5 or not self.pause():
            return
        kind = "clerk payment"
        unit_id = self.rng.choice(self.unit_ids)
        page = self.request(kind, "GET", f"/fees/units/{unit_id}")
        if page is None or not self.pause():
            return
        key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page.text)
        form = {
            "csrf_token": csrf_token(page.text),
            "amount": "10.00",
            "method": "cash",
            "idempotency_key": key.group(1) if key else uuid.uuid4().hex,
        }
        answer = self.request(kind, "POST", f"/fees/units/{unit_id}/pay", data=form)
        if answer is not None and answer.status_code == 200 and 'name="confirm"' in answer.text:
            # Asked to confirm (more than the unit owes, or the same amount again within
            # minutes): the clerk has checked, ticks the box and sends the form again.
            form.update(confirm="y", csrf_token=csrf_token(answer.text))
            answer = self.request(kind, "POST", f"/fees/units/{unit_id}/pay", data=form)
        self.follow(kind, answer)


class ApiReader(User):
    def __init__(self, *args, token: str, unit_ids: list[int]):
        super().__init__(*args)
        self.unit_ids = unit_ids
        self.http.headers["Authorization"] = f"Bearer {token}"

    def act(self) -> None:
        unit_id = self.rng.choice(self.unit_ids)
        path, params = self.rng.choice(
            (
                ("/api/v1/units", {"q": self.rng.choice(ROOMS)}),
                (f"/api/v1/units/{unit_id}", None),
                ("/api/v1/repairs", None),
                ("/api/v1/bills", {"unit_id": unit_id}),
            )
        )
        self.request("api", "GET", path, params=params)


def resident_logins(url: str, count: int) -> list[tuple[str, int]]:
    """(login, unit id) of `count` residents of units that owe: the demo residents and
    owners of unpaid units, given a username and the demo password."""
    with psycopg.connect(url) as conn:
        demo_hash = conn.execute(
            "SELECT password_hash FROM users WHERE username = 'resident'"
        ).fetchone()[0]
        rows = conn.execute(
            """
            SELECT DISTINCT ON (r.user_id) r.user_id, r.unit_id, u.username
            FROM residencies r JOIN users u ON u.id = r.user_id
            WHERE r.end_on IS NULL AND r.relation = 'owner'
              AND EXISTS (SELECT 1 FROM bills b WHERE b.unit_id = r.unit_id)
              AND (u.username IN ('resident', 'resident2')
                   OR NOT EXISTS (SELECT 1 FROM payments p WHERE p.unit_id = r.unit_id))
            ORDER BY r.user_id, r.unit_id
            """
        ).fetchall()
        rows.sort(key=lambda r: (r[2] is None, r[0]))
        picked = []
        for user_id, unit_id, username in rows[:count]:
            if username is None:
                username = f"bench_resident_{user_id}"
                conn.execute(
                    "UPDATE users SET username = %s, password_hash = %s WHERE id = %s",
                    (username, demo_hash, user_id),
                )
            picked.append((username, unit_id))
        conn.commit()
    return picked


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(stats: Stats, seconds: float) -> str:
    lines = [
        "| kind | requests | errors | req/s | p50 | p95 | p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    kinds = sorted(stats.times)
    everything = [t for k in kinds for t in stats.times[k]]
    for kind, times, errors in [
        *[(k, stats.times[k], stats.errors[k]) for k in kinds],
        ("**all**", everything, sum(stats.errors.values())),
    ]:
        ms = [1000 * t for t in times]
        lines.append(
            f"| {kind} | {len(ms):,} | {errors} | {len(ms) / seconds:.1f} "
            f"| {percentile(ms, 0.5):.0f} ms | {percentile(ms, 0.95):.0f} ms "
            f"| {percentile(ms, 0.99):.0f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--residents", type=int, default=30, help="of the users")
    parser.add_argument("--clerks", type=int, default=10, help="of the users; the rest: API")
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between requests")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (0: conf's)")
    parser.add_argument("--data", choices=("demo", "10x"), default="demo")
    parser.add_argument("--portal-dir", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    if args.residents + args.clerks > args.users:
        raise SystemExit("--residents and --clerks add up to more than --users")

    portal_dir = args.portal_dir.resolve()
    commit = subprocess.run(
        ["git", "-C", str(portal_dir), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    name = f"portal_bench_load_{args.data}"
    url, sizes = build_database(name, args.data, portal_dir, reuse=args.reuse)
    redis_url = claim_redis(args.redis_url)
    env = portal_env(portal_dir, url, redis_url)
    check_portal_code(portal_dir, env)
    residents = resident_logins(url, args.residents)
    with psycopg.connect(url) as conn:
        unit_ids = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT unit_id FROM residencies WHERE end_on IS NULL ORDER BY 1"
            )
        ]

    server = worker = None
    stats = Stats()
    rng = random.Random(args.seed)  # noqa: S311 - a load test, not security
    try:
        conf = ROOT / "gunicorn.conf.py"
        server = Gunicorn(portal_dir, "wsgi:app", env, workers=args.workers or None, conf=conf)
        worker = subprocess.Popen(  # noqa: S603
            [VENV_BIN / "flask", "--app", "portal", "worker"],
            cwd=portal_dir,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        token = api_token(server.base, "frontdesk", DEMO_PASSWORD)
        log(f"portal {server.base}; signing in {args.users} users")
        stop_at = time.monotonic() + 3600  # set below, once everyone is signed in
        users: list[User] = []
        for n in range(args.users):
            common = (server.base, stats, args.think, stop_at, random.Random(rng.random()))
            if n < args.residents:
                login, unit_id = residents[n % len(residents)]
                users.append(Resident(*common, login=login, unit_id=unit_id))
            elif n < args.residents + args.clerks:
                users.append(Clerk(*common, unit_ids=unit_ids))
            else:
                users.append(ApiReader(*common, token=token, unit_ids=unit_ids))
        load = os.getloadavg()
        started = time.monotonic()
        for user in users:
            user.stop_at = started + args.duration
        threads = [threading.Thread(target=u.run, daemon=True) for u in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.duration + 120)
        elapsed = time.monotonic() - started
        if worker.poll() is not None:
            log(f"the worker stopped with {worker.returncode}")
    finally:
        if worker and worker.poll() is None:
            os.killpg(worker.pid, 15)
            worker.wait(30)
        if server:
            server.stop()
        release_redis(redis_url)
        if not args.keep:
            drop_database(name)

    print(
        f"\n### Load test — {commit}, data {args.data}: {sizes['units']:,} units, "
        f"{sizes['bills']:,} bills\n\n{args.users} users ({args.residents} residents, "
        f"{args.clerks} clerks, {args.users - args.residents - args.clerks} API readers), "
        f"think {args.think} s, {elapsed:.0f} s, gunicorn -w {args.workers or 'conf'} sync "
        f"+ RQ worker; nproc {os.cpu_count()}, load average at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n"
    )
    print(report(stats, elapsed))
    for kind, samples in stats.samples.items():
        print(f"\nerrors of {kind}: {'; '.join(samples)}")


if __name__ == "__main__":
    main()
