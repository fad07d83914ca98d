"""The text encoder job end to end: MiniLM exported once per session into moto's S3, then
embedded by the torch-free TextEncoder and compared with sentence-transformers."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from learnloop.models.artifacts import sha256_hex
from learnloop.models.registration import register_model
from learnloop.models.registry import production_record
from learnloop.settings import Settings
from learnloop.text.encoder import TextEncoder

VERSION = "20261120T093000Z"
PREFIX = f"models/text_encoder/{VERSION}/"
#: Not the job's own sentence set: text it never compared on, of every length and script.
TEST_SENTENCES = [
    "Analysts expect quarterly revenue to beat estimates on strong cloud demand",
    "lol this meme is exactly my trading strategy",
    "The token unlock next week could add selling pressure",
    "You made 70% of your losses on Mondays",
    "Shares of the retailer fell after it cut its full-year outlook",
    "gm",
    "Der Euro legte gegenüber dem Dollar leicht zu",
    "a" * 3000,
    "Pattern: you increase position size after a winning streak, and give the gains back",
    "Why does the chart always reverse right after I enter?",
    "Inflation data came in hotter than expected, sending yields higher",
    "🚀🚀 to the moon",
]


@pytest.fixture(scope="session")
def exported(aws_endpoint: str, s3: Any) -> dict[str, Any]:
    """Run the job's main once against a session bucket; return what it published."""
    from training_jobs.text_encoder.job import main

    bucket = "text-encoder-session"
    s3.create_bucket(Bucket=bucket)
    settings = Settings(stage="te", bucket=bucket, endpoint_url=aws_endpoint)
    assert main(["--version", VERSION], settings=settings, s3=s3) == 0
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=PREFIX + "manifest.json")["Body"].read())
    files = {
        file: s3.get_object(Bucket=bucket, Key=PREFIX + file)["Body"].read()
        for file in manifest["files"]
    }
    return {"bucket": bucket, "manifest": manifest, "files": files}


@pytest.fixture(scope="session")
def sentence_transformer() -> Any:
    from training_jobs.text_encoder.export import load_sentence_transformer

    return load_sentence_transformer()


def test_the_artifact_follows_contract_c(exported: dict[str, Any]) -> None:
    import onnx

    manifest, files = exported["manifest"], exported["files"]
    assert set(files) == {"model.onnx", "tokenizer.json"}
    for file, content in files.items():
        assert manifest["files"][file]["sha256"] == sha256_hex(content)
    assert manifest["extra"]["kind"] == "text_encoder"
    assert manifest["metrics"]["cosine_min"] >= 0.999
    model = onnx.load_from_string(files["model.onnx"])
    assert model.ir_version <= 9
    assert all(o.version <= 17 for o in model.opset_import if o.domain in ("", "ai.onnx"))
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in model.graph.output] == ["sentence_embedding"]


@pytest.mark.parametrize("batch_size", [1, 5, 32])
def test_embeddings_match_sentence_transformers(
    exported: dict[str, Any], sentence_transformer: Any, batch_size: int
) -> None:
    encoder = TextEncoder.from_files(exported["files"], exported["manifest"])
    encoder.batch_size = batch_size
    ours = encoder.encode(TEST_SENTENCES)
    theirs = sentence_transformer.encode(TEST_SENTENCES, convert_to_numpy=True)
    assert ours.shape == (len(TEST_SENTENCES), 384) and ours.dtype == np.float32
    cosine = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() >= 0.999, cosine
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Each row is its own text's: embedding one alone gives the same vector.
    np.testing.assert_allclose(encoder.encode([TEST_SENTENCES[4]])[0], ours[4], atol=1e-5)


def test_the_published_encoder_registers_into_production(
    exported: dict[str, Any], tables: Any, s3: Any
) -> None:
    result = register_model(tables, s3, bucket=exported["bucket"], key=PREFIX + "manifest.json")
    assert (result.status, result.promoted) == ("production", True), result.reason
    alias = production_record(tables, "text_encoder")
    assert alias is not None and alias.target == VERSION


def test_the_encoder_runs_without_torch(exported: dict[str, Any], tmp_path: Any) -> None:
    for file, content in exported["files"].items():
        (tmp_path / file).write_bytes(content)
    code = (
        "import json, sys\n"
        "from learnloop.text.encoder import TextEncoder\n"
        f"vectors = TextEncoder.from_directory({str(tmp_path)!r}).encode(['hello', 'world'])\n"
        "print(json.dumps([list(vectors.shape), sorted(sys.modules)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    shape, modules = json.loads(result.stdout.splitlines()[-1])
    assert shape == [2, 384]
    loaded = {m.split(".")[0] for m in modules}
    assert loaded.isdisjoint({"torch", "sentence_transformers", "sklearn", "transformers"})
