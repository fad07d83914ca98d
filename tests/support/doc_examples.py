"""The docs' shell examples, found by their marker and run as written against a running stack.

A block is run when an HTML comment stands on the line right before its ```sh fence::

    <!-- example: runs against learnloop up; expects 200 202 409 -->
    ```sh
    curl -sS ...
    ```

``expects`` lists the HTTP status of every request the block's ``curl`` calls make, in order;
``expects exit 0`` marks a block that sends no ``curl`` request (CLI commands talking to the
stack) and must only succeed. ``runs against nothing; expects exit 0`` marks a block that needs
no stack and calls nothing outside the machine (``deploy --dry-run --skip-layers``).

Blocks too long or too external to run (``make run``, benchmarks, training, a real deploy) are
marked ``<!-- example: checks --help -->``: each command of ours in the block is checked at the
``--help`` level (``learnloop ...``, ``python bench/x.py``, ``python -m module`` answer their
``--help`` and list every ``--flag`` the line uses; ``make TARGET`` expands with ``make -n``);
other programs (``aws``, ``docker``) are listed as external and not run.
:func:`unmarked` lists the shell fences with no marker: the docs test wants none, so a new
example cannot be skipped silently. A block runs in bash with
``set -euo pipefail``, from the directory that holds the stack's ``.learnloop/`` (so
``. .learnloop/local.env`` works as written), with ``local.env``'s variables already in its
environment. ``curl`` is wrapped by a shell function that dumps each response's headers
(``-D``) and records the status line, so an example keeps its own ``-w`` and ``-o``.

Examples
--------
>>> text = '''<!-- example: runs against learnloop up; expects 200 409 -->
... ```sh
... curl -sS "$LEARNLOOP_API_URL/v1/health"
... ```'''
>>> [(e.line, e.expected) for e in examples_in(text, "x.md")]
[(3, [200, 409])]
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: The target of ``checks --help`` blocks.
HELP = "--help"
#: Where a block runs; a marker naming another one is an error, never silently skipped.
TARGETS = ("learnloop up", "nothing")

#: A marker is a line of its own; one quoted in prose (in backticks) is not a marker.
MARKER = re.compile(r"^\s*<!--\s*example:(?P<spec>[^>]*)-->\s*$")
#: A comment line that mentions an example but is no marker: an error, not a skipped block.
NEAR_MARKER = re.compile(r"^\s*<!--.*(?:ex\w*ple|runs against|expects)", re.IGNORECASE)
SPEC = re.compile(
    r"^\s*runs against (?P<target>[\w .-]+?)\s*;\s*expects\s+(?P<codes>[\d ]+?|exit 0)\s*$"
)
#: The ``--help``-level marker.
HELP_SPEC = re.compile(r"^\s*checks --help\s*$")
#: Programs a ``checks --help`` block may use that are not ours: listed, never run.
EXTERNAL = ("aws", "docker", "export", "curl", "jq")
FENCE_OPEN = re.compile(r"^```(?:sh|bash|shell)\s*$")

#: Prepended to every block: the strict shell and the recording ``curl``.
PRELUDE = r"""set -euo pipefail
curl() {
  local headers rc=0
  headers=$(mktemp)
  command curl -D "$headers" "$@" || rc=$?
  # One status per response; an interim 1xx (100 Continue) is not a response.
  { grep -aoE '^HTTP/[0-9.]+ [0-9]{3}' "$headers" || true; } \
    | awk '$2 !~ /^1/ { print $2 }' >> "$LEARNLOOP_DOC_STATUSES"
  rm -f "$headers"
  return "$rc"
}
"""


class ExampleFormatError(ValueError):
    """A marker that does not parse or does not stand right before a shell fence."""


@dataclass(frozen=True)
class Example:
    """One marked shell block: where it is, its code and the statuses it expects."""

    path: str
    line: int  # of the block's first code line, 1-based
    target: str
    expected: list[int]
    code: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Outcome:
    """What running an example gave: its exit code, the statuses seen, its output."""

    example: Example
    returncode: int
    statuses: list[int]
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.statuses == self.example.expected

    def describe(self) -> str:
        return (
            f"{self.example.where}: expected {self.example.expected}, got {self.statuses} "
            f"(exit {self.returncode})\n{self.example.code}\n--- output ---\n{self.output[-2000:]}"
        )


def examples_in(text: str, path: str) -> list[Example]:
    """Every marked shell block of a Markdown ``text``; raises on a malformed marker."""
    lines = text.splitlines()
    found: list[Example] = []
    for index, line in enumerate(lines):
        marker = MARKER.match(line)
        where = f"{path}:{index + 1}"
        if marker is None:
            if NEAR_MARKER.match(line):
                raise ExampleFormatError(f"{where}: not a marker: {line.strip()}")
            continue
        if HELP_SPEC.match(marker.group("spec")):
            if index + 1 >= len(lines) or not FENCE_OPEN.match(lines[index + 1]):
                raise ExampleFormatError(
                    f"{where}: the marker must stand right before a ```sh fence"
                )
            end = next((j for j in range(index + 2, len(lines)) if lines[j] == "```"), None)
            if end is None:
                raise ExampleFormatError(f"{where}: the block is never closed")
            code = "\n".join(lines[index + 2 : end]) + "\n"
            found.append(Example(path, index + 3, HELP, [], code))
            continue
        spec = SPEC.match(marker.group("spec"))
        if spec is None:
            raise ExampleFormatError(
                f"{where}: write <!-- example: runs against TARGET; expects CODE ... -->"
            )
        target = spec.group("target")
        if target not in TARGETS:
            raise ExampleFormatError(f"{where}: unknown target {target!r}; known: {TARGETS}")
        if index + 1 >= len(lines) or not FENCE_OPEN.match(lines[index + 1]):
            raise ExampleFormatError(f"{where}: the marker must stand right before a ```sh fence")
        end = next((j for j in range(index + 2, len(lines)) if lines[j] == "```"), None)
        if end is None:
            raise ExampleFormatError(f"{where}: the block is never closed")
        found.append(
            Example(
                path=path,
                line=index + 3,
                target=target,
                # "expects exit 0": a block of commands that send no curl request.
                expected=[int(code) for code in spec.group("codes").split() if code.isdigit()]
                if spec.group("codes") != "exit 0"
                else [],
                code="\n".join(lines[index + 2 : end]) + "\n",
            )
        )
    return found


def collect(root: Path, patterns: tuple[str, ...] = ("README.md", "docs/*.md")) -> list[Example]:
    """The marked examples of every Markdown file matching ``patterns`` under ``root``."""
    examples: list[Example] = []
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            examples += examples_in(path.read_text(), str(path.relative_to(root)))
    return examples


def run(example: Example, *, env: Mapping[str, str], cwd: Path, timeout: float = 60.0) -> Outcome:
    """Run one example with bash; each ``curl`` response's status is recorded in order."""
    statuses_file = cwd / ".doc-example-statuses"
    statuses_file.write_text("")
    result = subprocess.run(
        ["bash", "-c", PRELUDE + example.code],
        cwd=cwd,
        env={**env, "LEARNLOOP_DOC_STATUSES": str(statuses_file)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    statuses = [int(code) for code in statuses_file.read_text().split()]
    return Outcome(example, result.returncode, statuses, result.stdout + result.stderr)


def unmarked(text: str, path: str) -> list[str]:
    """``path:line`` of every shell fence of ``text`` with no marker on the line before it."""
    lines = text.splitlines()
    return [
        f"{path}:{index + 1}"
        for index, line in enumerate(lines)
        if FENCE_OPEN.match(line) and not (index and MARKER.match(lines[index - 1]))
    ]


@dataclass(frozen=True)
class HelpCheck:
    """One command line of a ``checks --help`` block and what checking it gave."""

    line: str
    argv: list[str] | None  # None: an external program, not run
    flags: list[str]
    returncode: int = 0
    missing: tuple[str, ...] = ()


def commands(code: str) -> list[str]:
    """The block's command lines: continuations joined, comments and blank lines dropped."""
    joined = code.replace("\\\n", " ")
    found = []
    for raw in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line:
            found.append(line)
    return found


def help_argv(line: str, python: str) -> tuple[list[str] | None, list[str]]:
    """What to run to check ``line`` at the ``--help`` level, and the flags it must list.

    Examples
    --------
    >>> help_argv(".venv/bin/learnloop train two_tower --embedding-dim 128", "py")
    (['py', '-m', 'learnloop_tools.cli', 'train', 'two_tower', '--help'], ['--embedding-dim'])
    >>> help_argv(".venv/bin/python bench/recommend.py [--queries 500] [--json]", "py")
    (['py', 'bench/recommend.py', '--help'], ['--queries', '--json'])
    >>> help_argv("make run    ", "py")
    (['make', '-n', 'run'], [])
    >>> help_argv('docker build -t "$REPO:latest" .', "py")
    (None, [])
    """
    words = line.replace("[", " ").replace("]", " ").split()
    program, rest = words[0], words[1:]
    flags = list(dict.fromkeys(w.split("=")[0] for w in rest if re.match(r"^--[a-z]", w)))
    if program in ("learnloop", ".venv/bin/learnloop"):
        sub = []
        for word in rest:
            if not re.match(r"^[a-z][a-z0-9_]*$", word):
                break
            sub.append(word)
        return [python, "-m", "learnloop_tools.cli", *sub, "--help"], flags
    if program in (".venv/bin/python", "python"):
        if rest[:1] == ["-m"]:
            return [python, "-m", rest[1], "--help"], flags
        return [python, rest[0], "--help"], flags
    if program == "make":
        return ["make", "-n", *[w for w in rest if not w.startswith("-")][:1]], []
    if program in EXTERNAL or "=" in program:
        return None, []
    raise ExampleFormatError(f"no --help check for {program!r} (add it to EXTERNAL if not ours)")


def check_help(
    example: Example, *, python: str, cwd: Path, env: Mapping[str, str], timeout: float = 120.0
) -> tuple[bool, list[HelpCheck]]:
    """Check each command of a ``checks --help`` block; ok when every one of ours passed."""
    checks = []
    for line in commands(example.code):
        argv, flags = help_argv(line, python)
        if argv is None:
            checks.append(HelpCheck(line, None, flags))
            continue
        result = subprocess.run(
            argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout
        )
        output = result.stdout + result.stderr
        missing = tuple(flag for flag in flags if flag not in output)
        checks.append(HelpCheck(line, argv, flags, result.returncode, missing))
    ours = [c for c in checks if c.argv is not None]
    ok = bool(ours) and all(c.returncode == 0 and not c.missing for c in ours)
    return ok, checks


__all__ = [
    "Example",
    "ExampleFormatError",
    "HelpCheck",
    "Outcome",
    "check_help",
    "collect",
    "commands",
    "examples_in",
    "help_argv",
    "run",
    "unmarked",
]
