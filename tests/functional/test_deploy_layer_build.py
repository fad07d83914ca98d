"""The real ingest layer, built by pip for python3.11 x86_64 (cheap: ~12 MB), then imported the
way Lambda stacks it. The dry-run tests skip layer building; this is what covers it in CI.
The inference and learn layers are built by `make package` (figures in docs/deploy.md)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from learnloop_tools.deploy.build import repo_root
from learnloop_tools.deploy.layers import build_function_zip, build_layers, layer_specs
from learnloop_tools.deploy.runtimes import get_runtime
from learnloop_tools.deploy.smoke import can_smoke_test, smoke_test

pytestmark = pytest.mark.heavy(30)  # seconds in CI: see tests/conftest.py


def test_ingest_layer_builds_for_lambda_and_imports_the_app(tmp_path: Path) -> None:
    runtime = get_runtime("python3.11", "x86_64")
    if not can_smoke_test(runtime):
        pytest.skip("the smoke test needs Python 3.11 on x86_64 Linux")
    root = repo_root()
    ingest = layer_specs(root)[0]
    lines: list[str] = []
    built = build_layers([ingest], runtime, root, tmp_path, echo=lines.append)["ingest"]
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
    assert "python/learnloop/store/records.py" in names
    assert any(n.startswith("python/pynamodb/") for n in names)
    assert any(n.startswith("python/pydantic_core/_pydantic_core.cpython-311") for n in names)
    # No numpy, nothing the runtime ships, no build tools, no caches.
    forbidden = ("python/numpy", "python/botocore", "python/boto3", "python/chalice")
    assert not any(n.startswith(forbidden) or "__pycache__" in n for n in names)
    assert built.unzipped_bytes < 30 * 1024 * 1024
    code = build_function_zip(root, tmp_path)
    checked: list[str] = []
    smoke_test([("ingest",)], code, {"ingest": built}, [ingest], echo=checked.append)
    assert checked and "import app, pynamodb" in checked[0]
    # Without its layer the app cannot import: the check does fail when a layer is missing.
    from learnloop_tools.deploy.exceptions import PackagingError

    with pytest.raises(PackagingError, match="fail to import"):
        smoke_test([()], code, {"ingest": built}, [ingest], echo=checked.append)
