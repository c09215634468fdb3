"""The shape of the code: pure modules stay pure, no asserts in production, small modules, one
way to reach settings."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Modules that hold rules only: no web framework, no database, no service plumbing, so that
# their tests need neither a server nor a database.
PURE = (
    "services.registration.domain",
    "services.registration.statistics",
    "services.registration.nomination_rules",
    "services.scheduling.domain",
    "shared.calendar",
    "services.scheduling.conflicts",
    "services.scheduling.people",
    "services.evaluation.domain",
    "services.evaluation.figures",
)
FORBIDDEN = (
    "litestar",
    "sqlalchemy",
    "sqlmodel",
    "shared.db",
    "shared.service",
    "shared.auth",
    "shared.params",
    "shared.problems",
)
MAX_LINES = 400


def production_modules() -> list[Path]:
    """Every module of services/ and shared/, but the generated migrations."""
    found = [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py")]
    return sorted(path for path in found if "versions" not in path.relative_to(ROOT).parts)


def name_of(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported_by(module: str) -> list[str]:
    """Which forbidden packages importing `module` loads, in a fresh interpreter."""
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"forbidden = {FORBIDDEN!r}\n"
        "print(json.dumps(sorted(f for f in forbidden if f in sys.modules)))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    found: list[str] = json.loads(output)
    return found


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_framework_and_no_database(module: str) -> None:
    assert set(imported_by(module)) == set()


def test_production_code_does_not_use_assert_for_control_flow() -> None:
    # An assert is a 500 when it fails, and nothing at all under `python -O`.
    found: dict[str, int] = {}
    for path in production_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        count = sum(isinstance(node, ast.Assert) for node in ast.walk(tree))
        if count:
            found[name_of(path)] = count
    assert found == {}


def test_modules_stay_small_unless_they_say_they_are_one_cohesive_thing() -> None:
    found = set()
    for path in production_modules():
        text = path.read_text()
        if len(text.splitlines()) <= MAX_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if not re.search(r"\bone cohesive\b", docstring, re.IGNORECASE):
            found.add(name_of(path))
    assert found == set()


def test_services_reach_settings_without_app_state() -> None:
    found: dict[str, int] = {}
    for path in sorted(ROOT.glob("services/**/*.py")):
        count = len(re.findall(r"\bstate\.settings\b", path.read_text()))
        if count:
            found[name_of(path)] = count
    assert found == {}
