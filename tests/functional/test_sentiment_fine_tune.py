"""Fine-tuned sentiment versions end to end, against moto's server: labelled texts uploaded
through the admin route, ``python -m training_jobs.sentiment --fine-tune`` (a one-layer BERT,
a few steps) publishing a whole encoder+head ONNX with its tokenizer, registration promoting
it, ``POST /v1/sentiment`` serving it, and a frozen-encoder head compared with it on the
same registered set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.api import call, error_of
from support.model_drops import T0
from support.sentiment import (
    CLASS_TOKEN,
    drop_sentiment,
    drop_text_encoder,
    labelled_texts,
    register,
    tiny_base_model,
)

from learnloop.models.artifacts import new_version
from learnloop.models.promotion import registered_set
from learnloop.sentiment.labelled import LABELLED_KEY
from training_jobs.sentiment.job import main

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tiny_base_model(tmp_path_factory.mktemp("tiny-bert")))


def upload(client: Any, key: str, body: Any) -> Any:
    return call(client, "PUT", "/v1/admin/labelled/sentiment", key=key, body=body)


def test_uploaded_texts_fine_tune_register_serve_and_compare_with_a_head(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, base_model: Path
) -> None:
    # the labels arrive 0/1/2-coded, as some datasets publish them
    texts, labels = labelled_texts(12)
    code = {"negative": 0, "positive": 1, "neutral": 2}
    rows = [{"text": t, "label": code[y]} for t, y in zip(texts, labels, strict=True)]
    label_map = {"0": "negative", "1": "positive", "2": "neutral"}
    body = {"rows": rows, "labels": label_map}
    assert upload(client, keys["read"], body).status_code == 403
    first = upload(client, keys["admin"], body)
    assert first.status_code == 200, first.body
    again = json.loads(upload(client, keys["admin"], body).body)  # a retry stores nothing twice
    assert (again["rows"], again["added"]) == (36, 0)
    assert again["label_counts"] == {"negative": 12, "neutral": 12, "positive": 12}
    stored = s3.get_object(Bucket=tables.settings.bucket, Key=LABELLED_KEY)["Body"].read()
    assert json.loads(stored.splitlines()[0])["label"] == labels[0]

    version = new_version(T0)
    argv = ["--fine-tune", "--base-model", str(base_model), "--epochs", "1", "--max-steps", "2"]
    argv += ["--batch-size", "8", "--min-per-class", "5", "--version", version]
    assert main(argv, settings=tables.settings, s3=s3, tables=tables) == 0
    result = register(tables, s3, f"models/sentiment/{version}/manifest.json")
    assert (result.status, result.promoted) == ("production", True), result.reason
    record = tables.models.get("sentiment", version)
    extra = record.manifest["extra"]
    assert extra["format"] == "fine_tuned" and extra["max_length"] == 64
    assert sorted(record.manifest["files"]) == ["model.onnx", "tokenizer.json"]
    assert extra["precision"] in ("int8", "fp32")
    registered = registered_set(tables, "sentiment")
    assert registered is not None and registered["set"]["source"] == "reference"

    response = call(client, "POST", "/v1/sentiment", key=keys["read"], body={"texts": texts[:3]})
    assert response.status_code == 200, response.body
    reply = json.loads(response.body)
    assert (reply["model"], reply["version"], reply["text_encoder"]) == (
        "sentiment",
        version,
        None,
    )
    assert reply["method"] == ("ensemble" if extra.get("routing") else "model")
    for row in reply["results"]:
        assert set(row["probabilities"]) == set(CLASS_TOKEN)
        assert abs(sum(row["probabilities"].values()) - 1.0) < 1e-4
        assert row["method"] in ("model", "ensemble")

    # a frozen head is compared with the fine-tuned production on the same registered set
    encoder_key, encoder_version = drop_text_encoder(tables, s3, minute=1)
    register(tables, s3, encoder_key)
    head = register(
        tables,
        s3,
        drop_sentiment(
            tables, s3, texts, labels, minute=2, source="reference", encoder_version=encoder_version
        ),
    )
    comparison = head.comparison
    assert comparison["production_version"] == version
    assert comparison["rule"] == "not_worse", head.reason
    assert comparison["rows"] == record.manifest["extra"]["test_rows"]
    assert 0.0 <= comparison["production"] <= 1.0 and 0.0 <= comparison["candidate"] <= 1.0


def test_bad_uploads_are_422_naming_the_field(client: Any, keys: dict[str, str]) -> None:
    bad = upload(client, keys["admin"], {"rows": [{"text": "a", "label": "good"}]})
    assert bad.status_code == 422
    assert error_of(bad)["details"][0]["field"] == "rows[0].label"
    empty = upload(client, keys["admin"], {"rows": []})
    assert empty.status_code == 422
    assert error_of(empty)["details"][0]["field"] == "rows"


def test_the_frozen_head_without_an_encoder_says_how_to_get_one(
    tables: Any, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([], settings=tables.settings, s3=s3, tables=tables) == 1
    assert "learnloop sentiment import" in capsys.readouterr().err
    texts, labels = labelled_texts(12)
    body = "".join(
        json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels, strict=True)
    )
    s3.put_object(Bucket=tables.settings.bucket, Key=LABELLED_KEY, Body=body.encode())
    assert main([], settings=tables.settings, s3=s3, tables=tables) == 1
    assert "--fine-tune, which needs none" in capsys.readouterr().err
