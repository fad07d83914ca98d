"""`learnloop demo` twice with one seed gives the same run, day by day.

Its own file (not beside the short demo in ``test_demo.py``) so that the two long demo tests
can run on different xdist workers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.heavy(63)]

LEARNLOOP = Path(sys.executable).parent / "learnloop"


def test_the_same_seed_replays_the_same_run(tmp_path: Path) -> None:
    # Both runs at once: each has its own emulator, stage and folders, and a run spends most of
    # its time in one Python thread, so the two share a two-core machine without waiting.
    # Output goes to files: a full pipe would stall a run that nobody is reading yet.
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name in ("first", "second"):
        with (tmp_path / f"{name}.log").open("w") as log:
            processes[name] = subprocess.Popen(
                [
                    str(LEARNLOOP),
                    "demo",
                    "--days",
                    "3",
                    "--seed",
                    "11",
                    "--port",
                    "0",
                    "--state-dir",
                    str(tmp_path / f"state-{name}"),
                    "--out",
                    str(tmp_path / name),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    runs = []
    try:
        for name, process in processes.items():
            returncode = process.wait(timeout=300)
            assert returncode == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
            runs.append(json.loads((tmp_path / name / "summary.json").read_text()))
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    first, second = runs
    assert first["days"] == second["days"]  # every pull, success and regret, day by day
    for summary in (first["summary"], second["summary"]):
        summary.pop("config")  # holds the (different) output folder
    assert first["summary"] == second["summary"]
