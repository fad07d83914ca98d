"""checkov in a venv of its own, made once per machine and kept in the user's cache.

checkov pins older boto3, networkx and packaging than the project's venv has, so it is never
installed there: ``pip install --dry-run checkov`` would downgrade them. The first run creates
the venv (``make checkov`` does the same); later runs reuse it, from any clone: CI runs in a
fresh clone each time, where a venv inside the clone cost 95 s of every run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

#: The version range the accepted findings were reviewed against.
CHECKOV_REQUIREMENT = "checkov>=3.2,<4"


def default_venv(environ: dict[str, str] | None = None) -> Path:
    """Where checkov's venv lives unless ``$LEARNLOOP_CHECKOV_VENV`` says: the user's cache,
    named by Python version and requirement (a new range gets a new venv).

    Examples
    --------
    >>> default_venv({"XDG_CACHE_HOME": "/c"}).parent
    PosixPath('/c/learnloop')
    >>> default_venv({"XDG_CACHE_HOME": "/c"}).name.startswith("venv-checkov-py3")
    True
    """
    environ = dict(os.environ) if environ is None else environ
    cache = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = hashlib.sha256(CHECKOV_REQUIREMENT.encode()).hexdigest()[:8]
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    return cache / "learnloop" / f"venv-checkov-{python}-{tag}"


def checkov_executable() -> Path | None:
    """``checkov`` from ``$LEARNLOOP_CHECKOV_VENV`` or :func:`default_venv`, made if missing.

    ``None`` when the venv cannot be made (no package index reachable): the caller skips.
    """
    venv = Path(os.environ.get("LEARNLOOP_CHECKOV_VENV") or default_venv())
    executable = venv / "bin" / "checkov"
    if executable.exists():
        return executable
    venv.parent.mkdir(parents=True, exist_ok=True)
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


if __name__ == "__main__":  # `make checkov`
    made = checkov_executable()
    print(made or "checkov's venv could not be made")
    sys.exit(made is None)
