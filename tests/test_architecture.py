"""The layers stay honest: checked by import-linter and by importing without the heavy packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is part of the dev extra; install with pip install -e '.[dev]'"
    run = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_is_clean():
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "studio", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_qt_free_layers_type_check():
    """mypy over the layers below the window (the files listed in pyproject's [tool.mypy])."""
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def test_engine_prompt_and_pose_import_without_qt_or_torch():
    """Block PySide6, qasync and torch outright; the Qt-free layers must still import."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'PySide6', 'qasync', 'torch', 'diffusers', 'transformers'}:\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib, pkgutil, studio.engine, studio.prompt, studio.pose, studio.request\n"
        "for pkg in (studio.engine, studio.prompt, studio.pose):\n"
        "    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print('ok')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_state_uses_qtcore_only():
    """import-linter cannot forbid one submodule of PySide6, so read the imports of studio/state directly."""
    import ast

    offenders = []
    for path in (ROOT / "studio" / "state").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                if name.startswith("PySide6.") and not name.startswith("PySide6.QtCore"):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
