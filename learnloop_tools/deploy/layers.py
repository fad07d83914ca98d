"""Build the Lambda artifacts: the function code and the ingest, inference and learn layers.

Layers are installed by pip for the *target* runtime (``--platform``, ``--python-version``,
``--only-binary=:all:``), so any machine can build them without Docker. Each layer's
requirements come from ``pyproject.toml``: ``ingest`` is the project's base dependencies (no
numpy) plus the learnloop library itself, ``inference`` the ``serve`` extra (numpy,
onnxruntime, tokenizers) and ``learn`` the scikit-learn side of the ``learn`` extra (with its
own numpy: the ``learn`` function does not load onnxruntime). What a function stacks on top of
``ingest`` never repeats what ``ingest`` holds, and what the Lambda runtime already ships
(boto3 and its dependencies) is left out. Models are data in S3, never in a layer; torch and
sentence-transformers are in no layer.

Examples
--------
>>> format_mb(262_144_000)
'250.0 MB'
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from learnloop_tools.deploy.exceptions import BudgetExceededError, PackagingError
from learnloop_tools.deploy.inventory import FunctionSpec
from learnloop_tools.deploy.runtimes import Runtime

#: Lambda's limit on a function and all its layers, unzipped (250 MB).
LAMBDA_BUDGET_BYTES = 250 * 1024 * 1024
#: Distributions every Python Lambda runtime already has on its path.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
#: Chalice is a build tool; the function zip carries its two runtime files, as Chalice's own
#: packager does.
BUILD_ONLY = frozenset({"chalice"})
#: Directories no import needs: test suites and onnx's 60 MB of backend test data...
PRUNED_DIRS = ("tests", "__pycache__")
PRUNED_PATHS = ("onnx/backend/test/data",)
#: ...except these: ``numpy.testing`` (which scikit-learn imports) imports from numpy's tests.
KEPT_PATHS = ("numpy/_core/tests",)
#: TA-Lib's wheel ships its Cython sources (``_ta_lib.c`` alone is 19 MB); nothing imports them.
TALIB_SOURCES = ("talib/*.c", "talib/*.pyx", "talib/*.pxi", "talib/*.pxd")
#: Files no Lambda needs: faiss's AVX-512 builds (38 MB each in the manylinux2014 wheel; its
#: loader falls back to the AVX2 build, which every x86_64 Lambda host runs).
PRUNED_FILES = ("faiss/_swigfaiss_avx512*", "faiss/swigfaiss_avx512*", *TALIB_SOURCES)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

Pip = Callable[[Sequence[str]], None]


def format_mb(size: int) -> str:
    """Bytes as MB (MiB, as Lambda counts them), one decimal."""
    return f"{size / 1024 / 1024:.1f} MB"


def canonical(name: str) -> str:
    """PEP 503 normalisation: ``Python_Dateutil`` → ``python-dateutil``.

    Examples
    --------
    >>> canonical("Python_Dateutil")
    'python-dateutil'
    """
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    import re

    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise PackagingError(f"cannot read the requirement {requirement!r}")
    return canonical(match.group(1))


@dataclass(frozen=True)
class LayerSpec:
    """A layer: its name and the requirements pip installs into it."""

    name: str
    requirements: tuple[str, ...]
    include_library: bool = False


def layer_specs(project_dir: Path) -> tuple[LayerSpec, ...]:
    """The three layers, their requirements read from ``pyproject.toml``."""
    project = tomllib.loads((project_dir / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    own = canonical(project["name"])

    def direct(requirements: Iterable[str]) -> tuple[str, ...]:
        return tuple(
            r
            for r in requirements
            if _requirement_name(r) != own and _requirement_name(r) not in BUILD_ONLY
        )

    return (
        LayerSpec("ingest", direct(project["dependencies"]), include_library=True),
        LayerSpec("inference", direct(extras.get("serve", ()))),
        LayerSpec("learn", direct(extras.get("learn", ()))),
    )


@dataclass
class Artifact:
    """One built zip: its path, unzipped size and content hash."""

    name: str
    path: Path
    unzipped_bytes: int
    sha256: str
    distributions: dict[str, str] = field(default_factory=dict)

    @property
    def zipped_bytes(self) -> int:
        return self.path.stat().st_size

    @property
    def s3_name(self) -> str:
        """A content-addressed file name, so a changed layer is a new layer version."""
        return f"{self.name}-{self.sha256[:16]}.zip"


def run_pip(args: Sequence[str]) -> None:
    """Run pip (of this interpreter) with ``args``; :class:`PackagingError` when it fails."""
    command = [sys.executable, "-m", "pip", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if not line.startswith("WARNING:")]
        raise PackagingError(
            "pip could not install for the target runtime:\n" + "\n".join(lines[-15:])
        )


def installed_distributions(target: Path) -> dict[str, Path]:
    """``{canonical name: dist-info folder}`` of what pip put into ``target``."""
    found = {}
    for info in target.glob("*.dist-info"):
        name = info.name[: -len(".dist-info")].rsplit("-", 1)[0]
        found[canonical(name)] = info
    return found


def _version(info: Path) -> str:
    return info.name[: -len(".dist-info")].rsplit("-", 1)[1]


def remove_distribution(target: Path, info: Path) -> None:
    """Delete every file a distribution's RECORD lists, then its empty folders."""
    record = info / "RECORD"
    folders: set[Path] = set()
    if record.is_file():
        for line in record.read_text().splitlines():
            relative = line.split(",", 1)[0]
            if not relative or relative.startswith(".."):
                continue
            path = target / relative
            if path.is_file() or path.is_symlink():
                path.unlink()
            folders.update(path.parents)
    shutil.rmtree(info, ignore_errors=True)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder != target and target in folder.parents and folder.is_dir():
            with contextlib.suppress(OSError):  # not empty: another distribution's files
                folder.rmdir()


def prune(target: Path) -> None:
    """Remove test suites, bytecode caches, scripts, onnx's test data, faiss's AVX-512
    builds and TA-Lib's Cython sources."""
    kept = {target / relative for relative in KEPT_PATHS}
    for name in PRUNED_DIRS:
        for folder in sorted(target.rglob(name), key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir() and folder not in kept:
                shutil.rmtree(folder, ignore_errors=True)
    for relative in PRUNED_PATHS:
        shutil.rmtree(target / relative, ignore_errors=True)
    for pattern in PRUNED_FILES:
        for path in target.glob(pattern):
            path.unlink(missing_ok=True)
    shutil.rmtree(target / "bin", ignore_errors=True)


def tree_size(root: Path) -> int:
    """Bytes of every file under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def write_zip(root: Path, out: Path, *, prefix: str = "") -> str:
    """Zip ``root`` into ``out`` deterministically (sorted, fixed times); returns its sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(prefix + path.relative_to(root).as_posix(), _ZIP_TIME)
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return hashlib.sha256(out.read_bytes()).hexdigest()


def build_function_zip(project_dir: Path, out_dir: Path) -> Artifact:
    """``app.py`` (and ``chalicelib/``) with Chalice's two runtime files, as ``chalice
    package`` lays them out."""
    import chalice
    import chalice.app

    staging = out_dir / "staging" / "function"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "chalice").mkdir(parents=True)
    shutil.copyfile(Path(chalice.app.__file__), staging / "chalice" / "app.py")
    shutil.copyfile(Path(chalice.__file__), staging / "chalice" / "__init__.py")
    functions = project_dir / "functions"
    shutil.copyfile(functions / "app.py", staging / "app.py")
    if (functions / "chalicelib").is_dir():
        shutil.copytree(functions / "chalicelib", staging / "chalicelib")
    prune(staging)
    path = out_dir / "function.zip"
    digest = write_zip(staging, path)
    return Artifact("function", path, tree_size(staging), digest)


def build_layers(
    specs: Sequence[LayerSpec],
    runtime: Runtime,
    project_dir: Path,
    out_dir: Path,
    *,
    pip: Pip = run_pip,
    echo: Callable[[str], None] = print,
) -> dict[str, Artifact]:
    """Install each layer for ``runtime`` and zip it under ``python/``.

    Parameters
    ----------
    specs
        The layers; the first is the base every function loads.
    runtime
        The Lambda runtime and architecture whose wheels pip picks.
    project_dir
        The repository (its ``layers/learnloop`` goes into the base layer).
    out_dir
        Where ``{name}.zip`` files land.
    pip
        Runs pip with the given arguments (tests inject a recorder).

    Raises
    ------
    PackagingError
        When pip fails, or two layers would carry different versions of one distribution.
    """
    artifacts: dict[str, Artifact] = {}
    base_versions: dict[str, str] = {}
    constraints: list[str] = []
    if runtime.constraints:
        pins = out_dir / "staging" / "constraints.txt"
        pins.parent.mkdir(parents=True, exist_ok=True)
        pins.write_text("\n".join(runtime.constraints) + "\n")
        constraints = ["--constraint", str(pins)]
    for index, spec in enumerate(specs, start=1):
        echo(f"[{index}/{len(specs)}] layer {spec.name}: pip install {' '.join(spec.requirements)}")
        target = out_dir / "staging" / spec.name / "python"
        shutil.rmtree(target.parent, ignore_errors=True)
        target.mkdir(parents=True)
        if spec.requirements:
            pip(
                [
                    "install",
                    "--quiet",
                    "--no-compile",
                    "--disable-pip-version-check",
                    "--target",
                    str(target),
                    *runtime.pip_options(),
                    *constraints,
                    *spec.requirements,
                ]
            )
        distributions = installed_distributions(target)
        for name, info in sorted(distributions.items()):
            if name in RUNTIME_PROVIDED or name in BUILD_ONLY:
                remove_distribution(target, info)
            elif index > 1 and name in base_versions:
                if base_versions[name] != _version(info):
                    raise PackagingError(
                        f"layer {spec.name} needs {name} {_version(info)} but the "
                        f"{specs[0].name} layer has {base_versions[name]}; pin one version"
                    )
                remove_distribution(target, info)
        if spec.include_library:
            shutil.copytree(
                project_dir / "layers" / "learnloop",
                target / "learnloop",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        prune(target)
        kept = {name: _version(info) for name, info in installed_distributions(target).items()}
        if index == 1:
            base_versions = kept
        path = out_dir / f"layer-{spec.name}.zip"
        digest = write_zip(target.parent, path)
        artifacts[spec.name] = Artifact(
            f"layer-{spec.name}", path, tree_size(target.parent), digest, kept
        )
        echo(
            f"      {spec.name}: {format_mb(artifacts[spec.name].unzipped_bytes)} unzipped, "
            f"{format_mb(artifacts[spec.name].zipped_bytes)} zipped"
        )
    shutil.rmtree(out_dir / "staging", ignore_errors=True)
    return artifacts


@dataclass(frozen=True)
class FunctionSize:
    """A function's unzipped total: its code plus every layer it loads."""

    name: str
    layers: tuple[str, ...]
    unzipped_bytes: int

    @property
    def within_budget(self) -> bool:
        return self.unzipped_bytes <= LAMBDA_BUDGET_BYTES


def function_sizes(
    functions: Iterable[FunctionSpec], code: Artifact, layers: dict[str, Artifact]
) -> list[FunctionSize]:
    """Each function's unzipped size (code + its layers)."""
    sizes = []
    for spec in functions:
        used = tuple(name for name in spec.profile.layers if name in layers)
        total = code.unzipped_bytes + sum(layers[name].unzipped_bytes for name in used)
        sizes.append(FunctionSize(spec.name, used, total))
    return sizes


def check_budget(sizes: Sequence[FunctionSize]) -> None:
    """Raise :class:`BudgetExceededError` naming every function over 250 MB unzipped.

    Examples
    --------
    >>> try:
    ...     check_budget([FunctionSize("learn", ("ingest", "learn"), 300 * 1024 * 1024)])
    ... except BudgetExceededError as exc:
    ...     print(exc.message)
    over Lambda's 250.0 MB unzipped: learn (ingest + learn) 300.0 MB
    """
    over = [size for size in sizes if not size.within_budget]
    if over:
        listed = ", ".join(
            f"{s.name} ({' + '.join(s.layers)}) {format_mb(s.unzipped_bytes)}" for s in over
        )
        raise BudgetExceededError(
            f"over Lambda's {format_mb(LAMBDA_BUDGET_BYTES)} unzipped: {listed}"
        )


__all__ = [
    "LAMBDA_BUDGET_BYTES",
    "RUNTIME_PROVIDED",
    "Artifact",
    "FunctionSize",
    "LayerSpec",
    "build_function_zip",
    "build_layers",
    "check_budget",
    "function_sizes",
    "layer_specs",
    "run_pip",
]
