"""The layer contracts in pyproject.toml ([tool.importlinter]) hold, and they do catch an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `lint-imports` with the project's contracts (read from `cwd`'s pyproject.toml)."""
    scripts = Path(sys.executable).parent
    command = shutil.which("lint-imports", path=str(scripts)) or shutil.which("lint-imports")
    assert command, "lint-imports is not installed: pip install -e '.[dev]'"
    env = dict(os.environ)
    if pythonpath is not None:  # put the package under test ahead of the installed one
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run([command, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_code_keeps_every_layer_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """A copy of the package whose data layer imports a page: the same contracts must fail on it."""
    shutil.copytree(ROOT / "qulab_gui", tmp_path / "qulab_gui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    scoring = tmp_path / "qulab_gui" / "data" / "scoring.py"
    scoring.write_text(scoring.read_text() + "\nfrom qulab_gui.ui.frame import measured  # noqa: E402\n")

    result = lint_imports(tmp_path, pythonpath=tmp_path)

    assert result.returncode != 0, result.stdout
    assert "Imports point one way: ui -> lab -> data -> settings -> net BROKEN" in result.stdout
    assert "qulab_gui.data.scoring -> qulab_gui.ui.frame" in result.stdout
