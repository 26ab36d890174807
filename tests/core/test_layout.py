"""The shape of the code: no import cycles, and the layers import downwards only.

Every `portal` import is read from the source (also those inside functions), so a cycle
hidden behind a late import counts too. Run `python -m tests.core.test_layout` to print
the graph's figures and the modules, functions and views over the size limits.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def portal_modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the portal package."""
    found = {}
    for path in (ROOT / "portal").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the portal modules it imports (anywhere in the file)."""

    def resolve(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(resolve(a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(resolve(full if full in modules else base))
        # A package's __init__ naming its own submodules is how packages are built.
        graph[name] = {t for t in targets if t and t != name and not t.startswith(name + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in graph:
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


GRAPH = import_graph(portal_modules())


def importers_of(predicate) -> dict[str, set[str]]:
    return {m: {t for t in targets if predicate(t)} for m, targets in GRAPH.items()}


def test_there_are_no_import_cycles():
    assert cycles(GRAPH) == []


def test_core_stands_on_nothing_above_it():
    """core/ is what every feature stands on: it imports no feature, queue or notice code."""
    above = ("portal.blueprints", "portal.notify", "portal.jobs", "portal.demo", "portal.worker")
    wrong = {
        m: sorted(t for t in targets if t.startswith(above))
        for m, targets in GRAPH.items()
        if m.startswith("portal.core")
    }
    assert {m: t for m, t in wrong.items() if t} == {}


def test_the_queue_does_not_import_notices():
    """jobs.py owns the queue; notify/ delivers through it, never the other way round."""
    assert {t for t in GRAPH["portal.jobs"] if t.startswith("portal.notify")} == set()


def test_only_the_registration_imports_views():
    """No module imports an HTML views module, except the blueprint list and the views'
    own package (the JSON API calls services, never views)."""
    wrong = {}
    for module, targets in GRAPH.items():
        views = {t for t in targets if ".views" in t and not t.startswith("portal.blueprints.api")}
        # The views' own package: its route modules register on the package's blueprint.
        own = {t for t in views if module.startswith(t.rpartition(".views")[0] + ".")}
        if module != "portal.blueprints" and views - own:
            wrong[module] = sorted(views - own)
    assert wrong == {}


def test_features_do_not_import_reports():
    """Reports are one feature above the others: they read features, not the reverse."""
    wrong = {
        m: sorted(t for t in targets if t.startswith("portal.blueprints.reports"))
        for m, targets in GRAPH.items()
        if m.startswith("portal.blueprints.")
        and not m.startswith(("portal.blueprints.reports", "portal.blueprints.api"))
    }
    assert {m: t for m, t in wrong.items() if t} == {}


def sizes(modules: dict[str, Path]):
    """Modules over 400 lines, functions over 40, views over 25 (STYLE's limits)."""
    big_modules, big_functions, big_views = [], [], []
    for name, path in modules.items():
        source = path.read_text()
        if len(source.splitlines()) > 400:
            big_modules.append((len(source.splitlines()), name))
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef):
                continue
            length = node.end_lineno - node.lineno + 1
            route = any(
                isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "route"
                for d in node.decorator_list
            )
            if length > 40:
                big_functions.append((length, f"{name}.{node.name}"))
            if route and length > 25:
                big_views.append((length, f"{name}.{node.name}"))
    return sorted(big_modules), sorted(big_functions), sorted(big_views)


if __name__ == "__main__":
    found = cycles(GRAPH)
    print(f"{len(GRAPH)} modules, {sum(map(len, GRAPH.values()))} imports, {len(found)} cycles")
    for group in found:
        print("  cycle:", " <-> ".join(group))
    labels = ("modules > 400 lines", "functions > 40 lines", "views > 25 lines")
    for label, items in zip(labels, sizes(portal_modules()), strict=True):
        print(f"{label}: {len(items)}")
        for length, name in sorted(items, reverse=True):
            print(f"  {length:4d} {name}")
