"""The architecture the folders show, enforced: core is headless, the dashboard and the executor
never load torch (or Ray) by being imported, so the first frame and a runner's start wait for
neither. Each check imports the modules in a fresh interpreter and looks at sys.modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)


def modules(package: str) -> list[str]:
    root = REPO / package.replace(".", "/")
    return sorted(
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in root.rglob("*.py")
        if path.name != "__main__.py"  # that one runs the program
    )


def loaded_after_importing(names: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def test_core_never_imports_textual():
    assert "textual" not in loaded_after_importing(modules("core"))


def test_the_dashboard_and_the_cli_import_neither_torch_nor_ray():
    loaded = loaded_after_importing(modules("tui"))
    assert "textual" in loaded and "torch" not in loaded and "ray" not in loaded


def test_the_executor_the_run_store_and_the_comparison_import_neither_torch_nor_ray():
    names = [m for m in modules("core") if not m.startswith("core.training")]
    loaded = loaded_after_importing(names)
    assert "torch" not in loaded and "ray" not in loaded


# ----- the shape of the code: one owner per concern, read in one sitting -------------------------
MAX_LINES = 450


def source_files() -> dict[str, Path]:
    """Every module of core and tui, by dotted name."""
    return {name: REPO / (name.replace(".", "/") + ".py") if (REPO / (name.replace(".", "/") + ".py")).exists()
            else REPO / name.replace(".", "/") / "__init__.py"
            for package in ("core", "tui") for name in modules(package) + [f"{package}.__main__"]
            if (REPO / (name.replace(".", "/") + ".py")).exists() or (REPO / name.replace(".", "/") / "__init__.py").exists()}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports anywhere in its file (inside functions too: a late import
    is still a dependency, and a circle through one breaks as soon as it runs)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package this module is in
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_in_core_and_tui():
    files = source_files()
    graph = {name: imports_of(name, path, set(files)) for name, path in files.items()}
    assert graph["tui.app"] and graph["core.execution.runner"], "the graph reads imports"  # the check can fail
    assert cycles(graph) == []


def test_the_cycle_check_names_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_is_longer_than_one_sitting():
    long = {str(path.relative_to(REPO)): n for path in source_files().values() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def project_classes() -> dict[str, tuple[str, list[str]]]:
    """Every class defined in core and tui: name -> (module, the names of its bases as written)."""
    classes = {}
    for name, path in source_files().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = (name, [ast.unparse(base).split("[")[0].rsplit(".", 1)[-1] for base in node.bases])
    return classes


def test_no_class_under_tui_has_two_bases_of_ours_and_the_app_is_only_an_app():
    """No mixins: a class's behaviour is in the class or in the objects it is given."""
    classes = project_classes()
    mixed = {cls: bases for cls, (module, bases) in classes.items()
             if module.startswith("tui") and sum(base in classes for base in bases) > 1}
    assert mixed == {}
    from textual.app import App
    from tui.app import MnistTui

    assert MnistTui.__bases__ == (App,)
