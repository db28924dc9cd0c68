"""The architecture the folders show, enforced: core is headless, the dashboard and the executor
never load torch (or Ray) by being imported, so the first frame and a runner's start wait for
neither. Each check imports the modules in a fresh interpreter and looks at sys.modules."""

from __future__ import annotations

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
