"""The docs' shell examples, found by their marker and run as written against a running stack.

A block is run when an HTML comment stands on the line right before its ```sh fence::

    <!-- example: runs against learnloop up; expects 200 202 409 -->
    ```sh
    curl -sS ...
    ```

``expects`` lists the HTTP status of every request the block's ``curl`` calls make, in order;
``expects exit 0`` marks a block that sends no ``curl`` request (CLI commands talking to the
stack) and must only succeed.
Unmarked blocks (deploys, ``make run``, jobs by hand) are never run. A block runs in bash with
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

#: The only target so far; a marker naming another one is an error, never silently skipped.
TARGETS = ("learnloop up",)

#: A marker is a line of its own; one quoted in prose (in backticks) is not a marker.
MARKER = re.compile(r"^\s*<!--\s*example:(?P<spec>[^>]*)-->\s*$")
#: A comment line that mentions an example but is no marker: an error, not a skipped block.
NEAR_MARKER = re.compile(r"^\s*<!--.*(?:ex\w*ple|runs against|expects)", re.IGNORECASE)
SPEC = re.compile(
    r"^\s*runs against (?P<target>[\w .-]+?)\s*;\s*expects\s+(?P<codes>[\d ]+?|exit 0)\s*$"
)
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


__all__ = ["Example", "ExampleFormatError", "Outcome", "collect", "examples_in", "run"]
