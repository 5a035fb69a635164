"""Each module of the package depends only on modules below it: no import circle, not even a lazy one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "adguard_mw"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str) -> set[str]:
    """The package's modules `path` imports, anywhere in it: at the top, inside a function or under TYPE_CHECKING."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("adguard_mw"))
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            if not target.startswith("adguard_mw"):
                continue
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import locales`
    return found


# Lazy imports of optional parts, allowed for now and listed so that no other appears unseen: the event sinks for
# s3:// and otlp+http:// (extras, loaded when a URL names them) and the report's engines.
LAZY = {
    ("adguard_mw.events", "adguard_mw.events_s3"),
    ("adguard_mw.events", "adguard_mw.events_otel"),
    ("adguard_mw.report.query", "adguard_mw.report.engines"),
}


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py") if "static" not in path.parts}
    edges = {name: {m for m in imports(path, name) if m in modules and m != name} for name, path in modules.items()}
    # a module's package __init__ runs first, but it is not something the module depends on: leave those edges out
    return {
        name: {m for m in deps if not name.startswith(m + ".") and (name, m) not in LAZY}
        for name, deps in edges.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "adguard_mw.events" in edges["adguard_mw.middleware"]  # the test sees real imports, relative ones too
    assert "adguard_mw.locales" in edges["adguard_mw.message"]  # and `from . import name`


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(graph()) == []


def test_the_circles_untied_here_stay_untied() -> None:
    edges = graph()
    assert "adguard_mw.assets" not in edges["adguard_mw.theme"]  # both find the static files through files.py
    assert "adguard_mw.middleware" not in edges["adguard_mw.reload"]  # the reloader knows a Reloadable, no more


def test_every_allowed_lazy_import_is_still_there() -> None:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py") if "static" not in path.parts}
    for importer, imported in LAZY:
        assert imported in imports(modules[importer], importer), f"{importer} no longer imports {imported}: drop it"


def test_a_circle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
