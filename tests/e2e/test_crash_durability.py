"""``kill -9`` of ``learnloop up`` mid-ingest loses no acknowledged write, nor the API keys
(issue 18). Runs ``bench/crash_durability.py`` (3 trials here; the bench's default is 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.heavy(40)]

ROOT = Path(__file__).resolve().parents[2]


def test_kill_9_mid_ingest_loses_no_acknowledged_write() -> None:
    path = os.pathsep.join(str(ROOT / p) for p in ("layers", ".", "bench"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "crash_durability.py"), "--trials", "3", "--json"],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["acknowledged_writes"] > 0, figures
    assert figures["lost"] == 0, figures
    assert figures["keys_lost"] == 0, figures
