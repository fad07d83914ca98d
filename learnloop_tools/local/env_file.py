"""Read and write ``.learnloop/local.env``: dotenv format, mode 0600, replaced atomically.

Examples
--------
>>> text = render_env({"A": "1", "B": "two words"}, header="made by a test")
>>> print(text, end="")
# made by a test
A=1
B="two words"
>>> parse_env(text + "export C='x'\\n")
{'A': '1', 'B': 'two words', 'C': 'x'}
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path

_PLAIN = re.compile(r"^[A-Za-z0-9_./:@+,=-]*$")


def render_env(values: Mapping[str, str], *, header: str | None = None) -> str:
    """``KEY=value`` lines (values quoted when they need it), after an optional comment."""
    lines = [f"# {line}" for line in (header or "").splitlines()]
    for name, value in values.items():
        if not _PLAIN.match(value):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def parse_env(text: str) -> dict[str, str]:
    """The variables of a dotenv text (comments, blank lines and ``export`` are allowed)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace('\\"', '"').replace("\\\\", "\\")
        values[name.strip()] = value
    return values


def read_env_file(path: Path) -> dict[str, str]:
    """The variables in ``path``; empty when it does not exist."""
    try:
        return parse_env(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def write_env_file(path: Path, values: Mapping[str, str], *, header: str | None = None) -> str:
    """Write ``values`` to ``path`` with mode 0600 (it holds API keys), atomically.

    Returns
    -------
    str
        The text written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_env(values, header=header)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if hasattr(os, "fchmod"):  # POSIX: the umask must not widen it
                os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return text


__all__ = ["parse_env", "read_env_file", "render_env", "write_env_file"]
