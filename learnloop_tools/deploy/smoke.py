"""Import-check built layers the way Lambda stacks them, when this machine can run them.

Lambda puts the function code first on ``sys.path``, then each layer's ``python/`` folder,
then the runtime's own boto3. This check rebuilds that path from the zips in a fresh
interpreter (``-I -S``: no site-packages) and imports the app and each layer's direct
requirements, so a layer that only installs (and would fail at cold start) is caught here.
It runs only when this interpreter matches the target runtime's Python and machine.
"""

from __future__ import annotations

import importlib.util
import platform
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from learnloop_tools.deploy.exceptions import PackagingError
from learnloop_tools.deploy.layers import (
    RUNTIME_PROVIDED,
    Artifact,
    LayerSpec,
    _requirement_name,
    canonical,
    installed_distributions,
)
from learnloop_tools.deploy.runtimes import Runtime

#: Import names of the distributions the Lambda runtime provides.
_RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def can_smoke_test(runtime: Runtime) -> bool:
    """Whether this interpreter can load the runtime's wheels (same Python and machine).

    Examples
    --------
    >>> from learnloop_tools.deploy.runtimes import get_runtime
    >>> can_smoke_test(get_runtime("python3.12", "arm64")) and platform.machine() != "aarch64"
    False
    """
    return (
        sys.platform == "linux"
        and f"{sys.version_info.major}.{sys.version_info.minor}" == runtime.python_version
        and platform.machine() == runtime.machine
    )


def top_level_modules(site: Path, distribution: str) -> list[str]:
    """The importable top-level names a distribution installed into ``site``."""
    info = installed_distributions(site).get(canonical(distribution))
    if info is None:
        return []
    names = set()
    for line in (info / "RECORD").read_text().splitlines():
        first = line.split(",", 1)[0].split("/", 1)
        head = first[0]
        if head.endswith((".dist-info", ".libs", ".pth")) or head.startswith(("_", "..")):
            continue
        if len(first) == 1 and head.endswith(".py"):
            names.add(head[:-3])
        elif len(first) == 2 and first[1] == "__init__.py":
            names.add(head)
    return sorted(names)


def _runtime_dir(into: Path) -> Path:
    """A folder holding only this machine's boto3 family, standing in for Lambda's."""
    into.mkdir(parents=True, exist_ok=True)
    for module in _RUNTIME_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (into / source.name).symlink_to(source)
    return into


def smoke_test(
    stacks: Iterable[tuple[str, ...]],
    code: Artifact,
    layers: dict[str, Artifact],
    specs: Iterable[LayerSpec],
    *,
    python: str = sys.executable,
    echo: Callable[[str], None] = print,
) -> None:
    """Import ``app`` and every direct requirement with each stack of layers.

    Raises
    ------
    PackagingError
        With the interpreter's error when an import fails.
    """
    requirements = {spec.name: spec.requirements for spec in specs}
    with tempfile.TemporaryDirectory(prefix="learnloop-smoke-") as tmp:
        root = Path(tmp)
        folders = {}
        for name, artifact in [("function", code), *layers.items()]:
            folder = root / name
            with zipfile.ZipFile(artifact.path) as archive:
                archive.extractall(folder)
            folders[name] = folder if name == "function" else folder / "python"
        provided = _runtime_dir(root / "runtime")
        for stack in sorted(set(stacks)):
            path = [folders["function"], *(folders[name] for name in stack), provided]
            modules = ["app"]
            for name in stack:
                for requirement in requirements.get(name, ()):
                    if _requirement_name(requirement) in RUNTIME_PROVIDED:
                        continue
                    modules += top_level_modules(folders[name], _requirement_name(requirement))
            script = (
                "import importlib, sys\n"
                f"sys.path[:0] = {[str(p) for p in path]!r}\n"
                f"for name in {modules!r}:\n"
                "    importlib.import_module(name)\n"
            )
            done = subprocess.run(
                [python, "-I", "-S", "-c", script],
                capture_output=True,
                text=True,
                check=False,
                cwd=root,
            )
            if done.returncode != 0:
                tail = "\n".join(done.stderr.strip().splitlines()[-8:])
                raise PackagingError(f"layers {' + '.join(stack)} fail to import:\n{tail}")
            echo(f"smoke test: {' + '.join(stack)} import {', '.join(modules)}: ok")


__all__ = ["can_smoke_test", "smoke_test", "top_level_modules"]
