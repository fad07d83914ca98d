"""checkov in a venv of its own (``.venv-checkov``, made once and kept).

checkov pins older boto3, networkx and packaging than the project's venv has, so it is never
installed there: ``pip install --dry-run checkov`` would downgrade them. The first run creates
the venv (``make checkov`` does the same); later runs reuse it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: The version range the accepted findings were reviewed against.
CHECKOV_REQUIREMENT = "checkov>=3.2,<4"


def checkov_executable(root: Path) -> Path | None:
    """``checkov`` from ``$LEARNLOOP_CHECKOV_VENV`` or ``ROOT/.venv-checkov``, made if missing.

    ``None`` when the venv cannot be made (no package index reachable): the caller skips.
    """
    venv = Path(os.environ.get("LEARNLOOP_CHECKOV_VENV") or root / ".venv-checkov")
    executable = venv / "bin" / "checkov"
    if executable.exists():
        return executable
    base = getattr(sys, "_base_executable", sys.executable)
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", CHECKOV_REQUIREMENT],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    return executable if executable.exists() else None
