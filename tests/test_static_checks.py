"""Static checks run with the tests: ruff on the whole tree, bandit on the application.

A bandit finding that is a false positive carries an inline `# nosec BXXX - reason` on its
line, so every silenced finding says why; anything else fails here.
"""

from __future__ import annotations

import subprocess  # nosec B404 - runs the project's own lint tools, fixed arguments
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess:
    tool = BIN / name
    if not tool.exists():
        pytest.fail(f"{name} is not installed in {BIN} (pip install -e '.[dev]')")
    return subprocess.run(  # nosec B603 - fixed argument list, no shell
        [str(tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_finds_nothing():
    result = run_tool("ruff", "check", "--output-format", "concise", "blogapp", "tests")
    assert result.returncode == 0, f"ruff found problems:\n{result.stdout}{result.stderr}"


def test_bandit_finds_nothing_unexplained():
    result = run_tool("bandit", "-q", "-r", "blogapp", "-c", "pyproject.toml")
    assert result.returncode == 0, f"bandit found problems:\n{result.stdout}{result.stderr}"


def test_bandit_would_catch_a_real_finding(tmp_path):
    """The check can fail: bandit flags a shell call that no annotation explains."""
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\nsubprocess.call('ls ' + input(), shell=True)\n")
    result = run_tool("bandit", "-q", str(bad))
    assert result.returncode == 1
    assert "B602" in result.stdout


def imported_names(path: Path) -> dict[str, set[str]]:
    """Every module a file imports (at any depth in it), with the names taken from each."""
    import ast

    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found.setdefault(module, set()).update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name, set())
    return found


SERVICES = sorted((ROOT / "blogapp").rglob("*services.py"))


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: str(p.relative_to(ROOT)))
def test_services_take_plain_values(path):
    """A module that changes data never reads the request, the session or who is signed in."""
    per_request = {"request", "session", "current_user", "g"}
    for module, names in imported_names(path).items():
        if module in ("flask", "flask_login"):
            assert not names & per_request, f"{path.name} imports {names & per_request}"


def test_comment_services_import_neither_forms_nor_the_thread():
    """Forms use services (a Draft), never the other way round: no import cycle."""
    modules = imported_names(ROOT / "blogapp" / "comments" / "services.py")
    assert not {".forms", ".thread", "blogapp.comments.forms"} & set(modules)
    assert not {"forms", "thread"} & modules.get(".", set())
