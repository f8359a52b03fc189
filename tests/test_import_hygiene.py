"""The engine is pure NumPy: importing all of it pulls in no UI library."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = r"""
import importlib, json, pkgutil, sys
import descent_engine
names = ["descent_engine"]
for info in pkgutil.walk_packages(descent_engine.__path__, "descent_engine."):
    importlib.import_module(info.name)
    names.append(info.name)
ui = sorted(m for m in sys.modules if m.split(".")[0] in {"textual", "plotext", "textual_plotext", "rich"})
print(json.dumps({"modules": names, "ui": ui}))
"""


def test_engine_imports_no_ui_library():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # every module was walked (network is included when it exists)
    for name in ("params", "rules", "schedules", "ewa", "problems", "theory", "run"):
        assert f"descent_engine.{name}" in result["modules"]
    assert result["ui"] == []


def test_import_contracts_hold():
    """pyproject's [tool.importlinter] contracts: the engine imports no UI; cli > app > labs >
    screens > palette > widgets. Run as CI would, with the lint-imports of this environment."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    exe = Path(sys.executable).with_name("lint-imports")
    command = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    done = subprocess.run(command + ["--no-cache"], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
