"""The README's and docs' marked shell examples run as written against one `learnloop up`.

The marker convention and the runner are in ``tests/support/doc_examples.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.doc_examples import HELP, Example, check_help, collect, run

from learnloop_tools.local.env_file import read_env_file

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0

#: Fewer marked examples (or requests in them) than this means markers were lost.
MIN_EXAMPLES = 13
MIN_REQUESTS = 35
#: Pages that must keep at least one marked example.
PAGES_WITH_EXAMPLES = {
    "README.md",
    "docs/api.md",
    "docs/local.md",
    "docs/privacy.md",
    "docs/recommendations.md",
    "docs/sentiment.md",
}


@dataclass
class Stack:
    env: dict[str, str]  # the process environment plus local.env
    home: Path  # holds .learnloop/, where the examples run
    base: dict[str, str]  # the process environment alone: for examples that need no stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("docs")
    state_dir = home / ".learnloop"
    # Examples call `.venv/bin/learnloop` as the docs do; it runs this checkout's code.
    (home / ".venv").symlink_to(Path(sys.executable).parents[1], target_is_directory=True)
    log = home / "up.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "AWS_ENDPOINT"))}
    base["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("layers", "."))
    with log.open("wb") as handle:
        # `python -m` rather than the installed script: the code under test, wherever it is.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "learnloop_tools.cli",
                "up",
                "--port",
                "0",
                "--state-dir",
                str(state_dir),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=base,
        )
    try:
        env_file = state_dir / "local.env"
        deadline = time.monotonic() + START_TIMEOUT
        while not _serving(env_file):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"learnloop up did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Stack(env={**base, **read_env_file(env_file)}, home=home, base=base)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serving(env_file: Path) -> bool:
    if not env_file.exists():
        return False
    url = read_env_file(env_file).get("LEARNLOOP_API_URL", "")
    try:
        with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_every_marked_example_answers_as_documented(stack: Stack) -> None:
    examples = [e for e in collect(ROOT) if e.target != HELP]
    outcomes = [
        run(e, env=stack.env if e.target == "learnloop up" else stack.base, cwd=stack.home)
        for e in examples
    ]
    failed = [outcome.describe() for outcome in outcomes if not outcome.ok]
    assert not failed, "\n\n".join(failed)
    assert len(outcomes) >= MIN_EXAMPLES, [o.example.where for o in outcomes]
    assert {o.example.path for o in outcomes} >= PAGES_WITH_EXAMPLES
    assert sum(len(o.statuses) for o in outcomes) >= MIN_REQUESTS


def test_a_status_other_than_the_documented_one_fails(stack: Stack) -> None:
    code = 'curl -sS "$LEARNLOOP_API_URL/v1/health"\ncurl -sS "$LEARNLOOP_API_URL/v1/nope"\n'
    wrong = Example("inline", 1, "learnloop up", [200, 200], code)
    outcome = run(wrong, env=stack.env, cwd=stack.home)
    assert outcome.returncode == 0 and outcome.statuses == [200, 404]
    assert not outcome.ok
    # A command that fails stops the block and fails it, whatever the statuses.
    broken = Example("inline", 1, "learnloop up", [200], code.splitlines()[0] + "\nfalse\n")
    assert not run(broken, env=stack.env, cwd=stack.home).ok


def test_examples_too_long_to_run_pass_their_help_level_check(stack: Stack) -> None:
    """``make run``, benchmarks, training and real deploys: each command of ours answers
    ``--help`` and lists every flag the docs use; ``make`` targets expand (``make -n``)."""
    blocks = [e for e in collect(ROOT) if e.target == HELP]
    assert len(blocks) >= 14, [e.where for e in blocks]
    failed = []
    checked = 0
    for example in blocks:
        ok, checks = check_help(example, python=sys.executable, cwd=ROOT, env=stack.base)
        checked += sum(c.argv is not None for c in checks)
        if not ok:
            failed.append(f"{example.where}: {[c for c in checks if c.returncode or c.missing]}")
    assert not failed, "\n".join(failed)
    assert checked >= 25
