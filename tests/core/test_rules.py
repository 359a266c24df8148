"""The rules of docs/architecture.md, checked on every test run (and so by `.ci/run`).

The layer contracts (`[tool.importlinter]` in pyproject.toml), the type checker (`[tool.mypy]`)
and the linter (`[tool.ruff]`) run as the installed tools, from the same virtualenv as the tests,
on the repository as it is: "the engine never imports Textual" cannot silently stop being true.
Each failure carries the tool's own output, so the message says what broke and where.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.timeout(300)


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: pip install -e '.[test]'")
    return str(path)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUTF8": "1"}
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=280, check=False)


def test_import_contracts_are_kept() -> None:
    done = _run(_tool("lint-imports"), "--no-cache")
    assert done.returncode == 0, f"import contracts broken (pyproject [tool.importlinter]):\n{done.stdout}{done.stderr}"
    assert "0 broken" in done.stdout, done.stdout


def test_the_textual_contract_covers_every_engine_module() -> None:
    """A new top-level module is engine unless it lives in ucterm.tui: it must be in the contract."""
    import pkgutil
    import tomllib

    import ucterm

    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["forbidden_modules"] == ["textual"])
    engine = {f"ucterm.{m.name}" for m in pkgutil.iter_modules(ucterm.__path__)} - {"ucterm.tui"}
    assert engine <= set(contract["source_modules"]), sorted(engine - set(contract["source_modules"]))


def test_mypy_finds_nothing() -> None:
    done = _run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, f"mypy ([tool.mypy] in pyproject.toml):\n{done.stdout}{done.stderr}"


def test_ruff_finds_nothing() -> None:
    done = _run(_tool("ruff"), "check", "--no-cache", "ucterm", "tests", "bench", "screenshots")
    assert done.returncode == 0, f"ruff check ([tool.ruff] in pyproject.toml):\n{done.stdout}{done.stderr}"
