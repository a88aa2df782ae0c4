"""The architecture as a test: layers import only downwards, no import circles, no Streamlit outside the app's
UI and pages, small files."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# lowest first; a module may import its own layer and the ones before it
LAYERS = (
    ("core.errors", "core.atomic", "core.parallel"),
    ("core.spectra",),
    ("core.io", "core.data.fetch", "core.data.classes"),
    ("core.data",),
    ("core.simulate",),
    ("core.model",),
    ("core.evaluation", "core.maps"),
    ("core.run",),
    ("core.commands", "core.cli", "core.__main__"),
    ("explorer.logic",),
    ("explorer.ui", "explorer"),
    ("explorer.pages", "app"),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    if module == "core":  # the package itself holds only __version__
        return 0
    best, best_len = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    return best


def project_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in out if m.split(".")[0] in ("core", "explorer", "app")}


SOURCES = sorted([*REPO.glob("core/**/*.py"), *REPO.glob("explorer/**/*.py"), REPO / "app.py"])


def resolve(name: str, known: set[str]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def test_every_module_has_a_layer():
    assert [module_name(p) for p in SOURCES if layer_of(module_name(p)) < 0] == []


def test_no_module_imports_a_higher_layer():
    known = {module_name(p) for p in SOURCES}
    bad = []
    for p in SOURCES:
        me = module_name(p)
        for imp in project_imports(p):
            target = resolve(imp, known)
            if target and layer_of(target) > layer_of(me):
                bad.append(f"{me} imports {target}")
    assert bad == []


def test_no_import_circles():
    known = {module_name(p) for p in SOURCES}
    graph = {module_name(p): {t for t in (resolve(i, known) for i in project_imports(p)) if t and t != module_name(p)}
             for p in SOURCES}
    # a package's __init__ re-exporting its modules is not a circle through the package
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in graph.get(m, ()):
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert cycles == []


@pytest.mark.parametrize("folder", ["core", "explorer/logic"])
def test_no_streamlit_below_the_ui(folder):
    users = [str(p.relative_to(REPO)) for p in REPO.glob(f"{folder}/**/*.py")
             if any(m == "streamlit" or m.startswith("streamlit.") for m in _all_imports(p))]
    assert users == []


def _all_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_source_files_are_small():
    long = {str(p.relative_to(REPO)): n for p in [*SOURCES, *REPO.glob("benchmarks/*.py")]
            if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}
