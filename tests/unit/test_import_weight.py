"""Ingest paths must not pay for numpy, onnxruntime, scikit-learn, torch or X-Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "onnxruntime", "sklearn", "torch", "sentence_transformers", "aws_xray_sdk")


def test_importing_the_app_loads_no_heavy_module() -> None:
    app_path = str(ROOT / "functions" / "app.py")
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {app_path!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}
    assert "chalice" in loaded and "learnloop" in loaded  # the import really happened
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
