"""One build of a stage: artifacts (zips) and the template, written to a directory.

``learnloop package`` and ``learnloop deploy`` (real or ``--dry-run``) both call
:func:`build`; nothing here talks to AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from learnloop.settings import Settings
from learnloop_tools.deploy.exceptions import PackagingError
from learnloop_tools.deploy.inventory import Inventory, build_inventory
from learnloop_tools.deploy.layers import (
    Artifact,
    FunctionSize,
    Pip,
    build_function_zip,
    build_layers,
    check_budget,
    format_mb,
    function_sizes,
    layer_specs,
    run_pip,
)
from learnloop_tools.deploy.runtimes import Runtime
from learnloop_tools.deploy.smoke import can_smoke_test, smoke_test
from learnloop_tools.deploy.template import (
    Artifacts,
    Template,
    TemplateOptions,
    build_template,
    read_chalice_config,
)

TEMPLATE_FILE = "learnloop.template.json"
MANIFEST_FILE = "artifacts.json"


def repo_root() -> Path:
    """The repository this package lives in (``learnloop_tools/deploy/build.py`` → two up)."""
    return Path(__file__).resolve().parents[2]


@dataclass
class BuildResult:
    """What :func:`build` wrote."""

    out_dir: Path
    template_path: Path
    template: Template
    inventory: Inventory
    code: Artifact
    layers: dict[str, Artifact]
    sizes: list[FunctionSize] = field(default_factory=list)

    @property
    def artifacts(self) -> list[Artifact]:
        return [self.code, *self.layers.values()]

    def size_table(self) -> str:
        """The artifacts' and functions' sizes as a printed table."""
        lines = [f"{'artifact':<22}{'unzipped':>12}{'zipped':>12}"]
        for artifact in self.artifacts:
            lines.append(
                f"{artifact.path.name:<22}{format_mb(artifact.unzipped_bytes):>12}"
                f"{format_mb(artifact.zipped_bytes):>12}"
            )
        lines.append("")
        lines.append(f"{'function':<22}{'layers':<26}{'unzipped':>12}  budget 250 MB")
        for size in self.sizes:
            verdict = "ok" if size.within_budget else "OVER"
            lines.append(
                f"{size.name:<22}{' + '.join(size.layers):<26}"
                f"{format_mb(size.unzipped_bytes):>12}  {verdict}"
            )
        return "\n".join(lines)


def s3_prefix(stage: str) -> str:
    """Where a stage's artifacts go in the artifacts bucket."""
    return f"learnloop/{stage}/"


def build(
    settings: Settings,
    runtime: Runtime,
    out_dir: Path,
    *,
    artifacts_bucket: str,
    project_dir: Path | None = None,
    skip_layers: bool = False,
    retain_data: bool | None = None,
    smoke: bool | None = None,
    app_module: ModuleType | None = None,
    pip: Pip = run_pip,
    echo: Callable[[str], None] = print,
) -> BuildResult:
    """Build the zips and the template of ``settings``' stage into ``out_dir``.

    Parameters
    ----------
    settings
        The stage (its table prefix and bucket name).
    runtime
        Lambda runtime and architecture the layers are built for.
    out_dir
        Receives ``function.zip``, ``layer-*.zip``, the template and ``artifacts.json``.
    artifacts_bucket
        The S3 bucket the template points the code at.
    skip_layers
        Write empty layer zips instead of running pip (templates only; the budget check
        then cannot run).
    smoke
        Import-check the layers as Lambda stacks them: ``None`` when this interpreter can,
        ``True`` always (an error when it cannot), ``False`` never.
    retain_data
        Keep tables, bucket and secret when the stack is deleted (default: stage ``prod``).
    pip
        Runs pip (tests inject their own).

    Raises
    ------
    BudgetExceededError
        When a function and its layers unzip to more than 250 MB.
    """
    project_dir = project_dir or repo_root()
    out_dir.mkdir(parents=True, exist_ok=True)
    inventory = build_inventory(settings, app_module=app_module, project_dir=project_dir)
    specs = layer_specs(project_dir)
    code = build_function_zip(project_dir, out_dir)
    if skip_layers:
        echo("layers skipped (--skip-layers): the zips are empty placeholders")
        layers = {spec.name: _empty_layer(spec.name, out_dir) for spec in specs}
    else:
        layers = build_layers(specs, runtime, project_dir, out_dir, pip=pip, echo=echo)
    sizes = function_sizes(inventory.functions, code, layers)
    if not skip_layers:
        check_budget(sizes)
        if smoke is not False and can_smoke_test(runtime):
            smoke_test([s.layers for s in sizes], code, layers, specs, echo=echo)
        elif smoke:
            raise PackagingError(
                f"cannot smoke-test {runtime.name} {runtime.architecture} layers with this "
                "interpreter (another Python or machine)"
            )
    prefix = s3_prefix(settings.stage)
    options = TemplateOptions(
        stage=settings.stage,
        runtime=runtime,
        retain_data=settings.stage == "prod" if retain_data is None else retain_data,
        chalice_config=read_chalice_config(project_dir),
    )
    template = build_template(
        inventory,
        settings,
        options,
        Artifacts(
            bucket=artifacts_bucket,
            function_key=prefix + code.s3_name,
            layer_keys={name: prefix + artifact.s3_name for name, artifact in layers.items()},
        ),
    )
    template_path = out_dir / TEMPLATE_FILE
    template_path.write_text(json.dumps(template, indent=1, sort_keys=False) + "\n")
    manifest: dict[str, Any] = {
        "stage": settings.stage,
        "runtime": runtime.name,
        "architecture": runtime.architecture,
        "artifacts_bucket": artifacts_bucket,
        "layers_built": not skip_layers,
        "artifacts": {
            a.path.name: {
                "s3_key": prefix + a.s3_name,
                "sha256": a.sha256,
                "unzipped_bytes": a.unzipped_bytes,
                "zipped_bytes": a.zipped_bytes,
                "distributions": a.distributions,
            }
            for a in [code, *layers.values()]
        },
        "functions": {
            s.name: {"layers": list(s.layers), "unzipped_bytes": s.unzipped_bytes} for s in sizes
        },
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n")
    return BuildResult(out_dir, template_path, template, inventory, code, layers, sizes)


def _empty_layer(name: str, out_dir: Path) -> Artifact:
    import tempfile

    from learnloop_tools.deploy.layers import write_zip

    with tempfile.TemporaryDirectory() as empty:
        path = out_dir / f"layer-{name}.zip"
        digest = write_zip(Path(empty), path)
    return Artifact(f"layer-{name}", path, 0, digest)


__all__ = ["MANIFEST_FILE", "TEMPLATE_FILE", "BuildResult", "build", "repo_root", "s3_prefix"]
