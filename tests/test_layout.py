"""The tree reads as the pipeline: each stage folder imports only stages below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "assistant"

# rank of each top-level part of the package; a module may import only ranks at or below its own,
# and a stage folder never imports another folder of the same rank.
RANKS = {
    "records": 0, "settings": 0, "errors": 0, "terms": 0, "verbs": 0, "data": 0,
    "models": 1,
    "storage": 2,
    "ingest": 3, "search": 3,
    "answer": 4,
    "core": 5,
    "chat": 6, "evaluation": 6, "cli": 7, "__init__": 8, "__main__": 8,
}  # fmt: skip


def _part(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "assistant", module
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    rel = path.relative_to(PKG.parent).with_suffix("")
    here = list(rel.parts)
    pkg = here if here[-1] == "__init__" else here[:-1]
    if here[-1] == "__init__":
        pkg = here[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
                mods = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                mods = [node.module or ""]
            out += [(node.lineno, m) for m in mods if m.startswith("assistant")]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("assistant")]
    return out


SOURCES = sorted(PKG.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_only_run_downwards(path):
    me = path.relative_to(PKG).parts[0].removesuffix(".py")
    problems = []
    for line, mod in _imports(path):
        other = _part(mod)
        if other == me or other not in RANKS:
            continue
        if RANKS[other] > RANKS[me] or (RANKS[other] == RANKS[me] and RANKS[me] > 0):
            problems.append(f"{path.relative_to(PKG)}:{line} imports {mod} (a {other} → upward or sideways)")
    assert not problems, "\n".join(problems)


def test_every_stage_folder_says_what_it_does():
    for init in PKG.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "import" in doc.lower() or init.parent == PKG, (
            f"{init} needs a docstring naming what it may import"
        )


def test_every_module_belongs_to_a_known_stage():
    tops = {p.relative_to(PKG).parts[0].removesuffix(".py") for p in SOURCES}
    assert tops <= set(RANKS), tops - set(RANKS)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_circles():
    """Each stage reads top to bottom: no module reaches itself through imports, lazy ones included."""
    modules = {_module_name(p): p for p in SOURCES}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for _, mod in _imports(path):
            while mod and mod not in modules:  # "from .x import name" names a module or a name in it
                mod = mod.rpartition(".")[0]
            if mod and mod != name and not name.startswith(mod + "."):  # a package's __init__ runs first anyway
                targets.add(mod)
        graph[name] = targets
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" → ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not circles, "import circles:\n" + "\n".join(circles)
