"""Fuzz the API from its own OpenAPI document (schemathesis): every operation, valid and
invalid inputs, with each caller's bearer token; any 5xx (or exception) is a finding. Each
operation also gets probes: a valid request with one value at a time made hostile (an id
past 2³¹−1, a NUL byte), the inputs an outside probe once found answered 500.

Used by the suite (a few examples per operation) and by bench/fuzz.py (thousands).
"""

import contextlib
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

# Revoking the caller's own token would end the run's session, not find a fault.
SKIPPED = {("DELETE", "/api/v1/auth/token")}
ID_PAST_ANY = 2**31


@dataclass
class FuzzResult:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def fresh_context(app):
    """The app as a WSGI callable whose every request gets its own app context (and so its
    own session and signed-in user), as the test client gives them (tests/conftest.py)."""

    def wsgi(environ, start_response):
        with app.app_context():
            return list(app(environ, start_response))

    return wsgi


def operations(app):
    """The API's operations as schemathesis reads them from /api/v1/openapi.json."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fresh_context(app))
    # Every request carries the caller's token: invalid input, not a missing sign-in, is
    # what the run is after (the suite checks sign-in on its own).
    schema.config.generation.update(with_security_parameters=False, allow_x00=True)
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIPPED:
            yield operation


def fuzz(app, tokens: dict[str, dict], *, examples: int, seed: int | None = None) -> FuzzResult:
    """Send `examples` generated requests per operation and mode, with every token; the
    same requests every time unless a `seed` is given."""
    result = FuzzResult()
    started = time.perf_counter()
    for operation in operations(app):
        for mode in GenerationMode:
            _fuzz_operation(operation, mode, tokens, examples, seed, result)
    result.seconds = time.perf_counter() - started
    return result


def _fuzz_operation(operation, mode, tokens, examples, seed, result):
    probed = False

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
        phases=["generate"],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        nonlocal probed
        cases = [case]
        if mode == GenerationMode.POSITIVE and not probed:
            probed = True
            cases += list(probes(case))
        for one in cases:
            for who, headers in tokens.items():
                _send(one, who, headers, result)

    # Unsatisfiable: nothing to make invalid (an operation without parameters or body).
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        (run if seed is None else hypothesis.seed(seed)(run))()


def hostile(value):
    """What the probe found answered 500: an id one past 2³¹−1, a NUL byte in text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return ID_PAST_ANY
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, list):
        return [hostile(v) for v in value] or [ID_PAST_ANY]
    return value


def probes(case):
    """Copies of a valid case with one value made hostile at a time (path, query, body)."""
    for part in ("path_parameters", "query", "body"):
        values = getattr(case, part)
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            if hostile(value) != value:
                yield _with(case, part, {**values, name: hostile(value)})


def _with(case, part, values):
    parts = {p: getattr(case, p) for p in ("path_parameters", "query", "headers", "body")}
    parts[part] = values
    return case.operation.schema.make_case(
        operation=case.operation, method=case.method, media_type=case.media_type, **parts
    )


def _send(case, who, headers, result):
    result.requests += 1
    try:
        response = case.call(headers={**(case.headers or {}), **headers})
    except Exception:  # the test client re-raises what the portal did not handle
        result.statuses[500] += 1
        result.failures.append((who, case.method, case.formatted_path, traceback.format_exc()))
        return
    result.statuses[response.status_code] += 1
    if response.status_code >= 500:
        body = response.text[:300]
        result.failures.append((who, case.method, case.formatted_path, body))


def report(result: FuzzResult) -> str:
    """One line of figures, then the first findings."""
    lines = [
        f"{result.requests} requests, {result.server_errors} 5xx, {result.seconds:.1f} s; "
        f"statuses {dict(sorted(result.statuses.items()))}"
    ]
    for who, method, path, detail in result.failures[:5]:
        lines.append(f"{who} {method} {path}\n{detail}")
    return "\n".join(lines)
