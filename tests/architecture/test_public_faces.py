"""Every docstring example in the packages runs (they are the public faces' documentation), and core stays pure."""

import ast
import doctest
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "ingest", "projections", "scheduling", "apps")


def _modules_with_examples() -> list[str]:
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ">>>" in path.read_text(encoding="utf-8"):
                parts = path.relative_to(ROOT).with_suffix("").parts
                modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


PUBLIC_FACES = _modules_with_examples()


@pytest.mark.parametrize("module_name", PUBLIC_FACES)
def test_the_docstring_examples_of_a_public_face_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failures == 0


def test_core_imports_only_the_standard_library_and_reads_no_clock() -> None:
    allowed = set(sys.stdlib_module_names) | {"core"}
    problems = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                modules = []
            problems += [f"{path.name} imports {m}" for m in modules if m.split(".")[0] not in allowed]
            if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today", "uuid4"):
                problems.append(f"{path.name}:{node.lineno} calls .{node.attr}")
    assert problems == []
