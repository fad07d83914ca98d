"""Layer requirements, pruning, de-duplication across layers and the 250 MB budget."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from learnloop_tools.deploy.exceptions import BudgetExceededError, PackagingError
from learnloop_tools.deploy.layers import (
    LAMBDA_BUDGET_BYTES,
    FunctionSize,
    LayerSpec,
    build_layers,
    check_budget,
    layer_specs,
)
from learnloop_tools.deploy.runtimes import get_runtime

ROOT = Path(__file__).resolve().parents[3]


def _names(spec: LayerSpec) -> set[str]:
    from learnloop_tools.deploy.layers import _requirement_name

    return {_requirement_name(r) for r in spec.requirements}


def test_layers_come_from_pyproject_and_keep_heavy_libraries_apart() -> None:
    specs = {spec.name: spec for spec in layer_specs(ROOT)}
    assert list(specs) == ["ingest", "inference", "learn"]
    assert {"pynamodb", "pydantic"} <= _names(specs["ingest"])
    assert _names(specs["ingest"]).isdisjoint({"numpy", "onnxruntime", "chalice"})
    assert {"numpy", "onnxruntime", "tokenizers", "faiss-cpu"} <= _names(specs["inference"])
    assert {"scikit-learn", "skl2onnx"} <= _names(specs["learn"])
    every = set().union(*(_names(s) for s in specs.values()))
    assert every.isdisjoint({"torch", "sentence-transformers", "learnloop"})
    assert specs["ingest"].include_library


def test_runtime_platform_tags_follow_its_glibc() -> None:
    old, new = get_runtime("python3.11"), get_runtime("python3.12", "arm64")
    assert old.platform_tags()[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_28_x86_64" not in old.platform_tags()
    assert new.platform_tags()[0] == "manylinux_2_34_aarch64"
    options = old.pip_options()
    assert options[options.index("--python-version") + 1] == "3.11"
    assert "--only-binary=:all:" in options
    assert old.constraints == ("numpy<2",)


def _fake_pip(packages: dict[str, dict[str, str]]) -> tuple[list[list[str]], object]:
    """A pip that 'installs' small distributions (files + dist-info RECORD) by requirement."""
    calls: list[list[str]] = []

    def pip(args: Sequence[str]) -> None:
        calls.append(list(args))
        target = Path(args[args.index("--target") + 1])
        for requirement, dists in packages.items():
            if requirement not in args:
                continue
            for dist, version in dists.items():
                module = dist.replace("-", "_")
                (target / module).mkdir(parents=True, exist_ok=True)
                (target / module / "__init__.py").write_text("x = 1\n")
                (target / module / "tests").mkdir(exist_ok=True)
                (target / module / "tests" / "test_it.py").write_text("assert True\n")
                info = target / f"{module}-{version}.dist-info"
                info.mkdir(exist_ok=True)
                (info / "RECORD").write_text(
                    f"{module}/__init__.py,,\n{module}/tests/test_it.py,,\n"
                    f"{info.name}/RECORD,,\n../../bin/{module},,\n"
                )

    return calls, pip


def test_upper_layers_drop_what_the_base_has_and_the_runtime_provides(tmp_path: Path) -> None:
    import zipfile

    (tmp_path / "layers" / "learnloop").mkdir(parents=True)
    (tmp_path / "layers" / "learnloop" / "__init__.py").write_text("")
    calls, pip = _fake_pip(
        {
            "base": {"pydantic": "2.0", "boto3": "1.40", "typing-extensions": "4.0"},
            "heavy": {"numpy": "1.26.4", "typing-extensions": "4.0"},
        }
    )
    specs = [
        LayerSpec("ingest", ("base",), include_library=True),
        LayerSpec("inference", ("heavy",)),
    ]
    built = build_layers(
        specs, get_runtime(), tmp_path, tmp_path / "out", pip=pip, echo=lambda m: None
    )
    assert set(built["ingest"].distributions) == {"pydantic", "typing-extensions"}
    assert set(built["inference"].distributions) == {"numpy"}
    with zipfile.ZipFile(built["inference"].path) as archive:
        names = archive.namelist()
    assert "python/numpy/__init__.py" in names
    assert not any("typing_extensions" in n or "/tests/" in n for n in names)
    with zipfile.ZipFile(built["ingest"].path) as archive:
        names = archive.namelist()
    assert "python/learnloop/__init__.py" in names and not any("boto3" in n for n in names)
    # Every pip call targets the Lambda runtime under its pins, not this machine.
    assert all("--platform" in call and "--constraint" in call for call in calls)


def test_layers_disagreeing_on_a_version_fail_clearly(tmp_path: Path) -> None:
    (tmp_path / "layers" / "learnloop").mkdir(parents=True)
    _, pip = _fake_pip(
        {"base": {"typing-extensions": "4.0"}, "heavy": {"typing-extensions": "4.9"}}
    )
    specs = [LayerSpec("ingest", ("base",)), LayerSpec("inference", ("heavy",))]
    with pytest.raises(
        PackagingError, match=r"typing-extensions 4\.9 but the ingest layer has 4\.0"
    ):
        build_layers(specs, get_runtime(), tmp_path, tmp_path / "out", pip=pip, echo=print)


def test_budget_names_every_function_over_250_mb() -> None:
    fits = FunctionSize("api_ingest", ("ingest",), LAMBDA_BUDGET_BYTES)
    over = FunctionSize("learn", ("ingest", "learn"), LAMBDA_BUDGET_BYTES + 1)
    check_budget([fits])
    with pytest.raises(BudgetExceededError, match=r"learn \(ingest \+ learn\) 250\.0 MB"):
        check_budget([fits, over])


def test_each_built_layer_ships_runtime_code_only(tmp_path: Path) -> None:
    """The real specs, built from this repository with a pip that installs nothing: what the
    builder itself puts in each zip is the runtime library, whole, and nothing else of ours."""
    import ast
    import zipfile

    def installs_nothing(args: Sequence[str]) -> None:
        return None

    built = build_layers(
        layer_specs(ROOT), get_runtime(), ROOT, tmp_path, pip=installs_nothing, echo=lambda m: None
    )
    assert set(built) == {"ingest", "inference", "learn"}
    contents = {}
    for name, artifact in built.items():
        with zipfile.ZipFile(artifact.path) as archive:
            contents[name] = {n: archive.read(n) for n in archive.namelist()}

    runtime = ROOT / "layers" / "learnloop"
    expected = {
        "python/learnloop/" + p.relative_to(runtime).as_posix()
        for p in runtime.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert set(contents["ingest"]) == expected  # the whole runtime library, nothing more
    assert "python/learnloop/api/dashboard/static/index.html" in expected
    for name in ("inference", "learn"):
        assert not any(n.startswith("python/learnloop") for n in contents[name]), name
    ours = ("learnloop_tools", "training_jobs", "torch", "sentence_transformers")
    for path, data in contents["ingest"].items():
        top = path.split("/")[2]
        assert top not in {"cli.py", "local", "demo", "deploy", "training"}, path
        if path.endswith(".py"):
            for node in ast.walk(ast.parse(data)):
                if isinstance(node, ast.ImportFrom) and node.module:
                    assert node.module.split(".")[0] not in ours, (path, node.module)
                elif isinstance(node, ast.Import):
                    assert all(a.name.split(".")[0] not in ours for a in node.names), path


def test_prune_drops_faiss_avx512_builds_and_keeps_the_others(tmp_path: Path) -> None:
    from learnloop_tools.deploy.layers import prune

    faiss = tmp_path / "faiss"
    faiss.mkdir()
    names = [
        "_swigfaiss.cpython-311-x86_64-linux-gnu.so",
        "_swigfaiss_avx2.cpython-311-x86_64-linux-gnu.so",
        "_swigfaiss_avx512.cpython-311-x86_64-linux-gnu.so",
        "swigfaiss.py",
        "swigfaiss_avx2.py",
        "swigfaiss_avx512.py",
        "loader.py",
    ]
    for name in names:
        (faiss / name).write_bytes(b"x")
    prune(tmp_path)
    assert sorted(p.name for p in faiss.iterdir()) == sorted(n for n in names if "avx512" not in n)


def test_prune_drops_talib_sources_and_keeps_its_modules(tmp_path: Path) -> None:
    from learnloop_tools.deploy.layers import prune

    talib = tmp_path / "talib"
    talib.mkdir()
    names = ["_ta_lib.c", "_ta_lib.pyx", "_stream.pxi", "_ta_lib.cpython-311-x86_64-linux-gnu.so",
             "__init__.py", "abstract.py"]  # fmt: skip
    for name in names:
        (talib / name).write_bytes(b"x")
    prune(tmp_path)
    kept = sorted(p.name for p in talib.iterdir())
    assert kept == sorted(["_ta_lib.cpython-311-x86_64-linux-gnu.so", "__init__.py", "abstract.py"])
