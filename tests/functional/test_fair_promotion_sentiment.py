"""Sentiment heads compared on the name's registered evaluation set (issue 13, part 1).

A head trained on the user's own texts (``domain``) registers its hold-out as the set and is
promoted when it beats production there; a later head trained on easier reference data is
compared on that registered set, and kept out when it is worse there.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.sentiment import (
    domain_texts,
    drop_sentiment,
    drop_text_encoder,
    labelled_texts,
    register,
)

from learnloop.models.promotion import registered_set
from learnloop.models.registry import production_record


@pytest.fixture
def encoder_version(tables: Any, s3: Any) -> str:
    key, version = drop_text_encoder(tables, s3, minute=0)
    assert register(tables, s3, key).promoted
    return version


def test_a_domain_head_is_promoted_on_its_set_and_an_easier_retrain_is_kept_out(
    tables: Any, s3: Any, encoder_version: str
) -> None:
    reference_texts, reference_labels = labelled_texts(30, seed=0)
    first = register(
        tables,
        s3,
        drop_sentiment(
            tables,
            s3,
            reference_texts,
            reference_labels,
            minute=1,
            source="reference",
            encoder_version=encoder_version,
        ),
    )
    assert first.promoted
    assert registered_set(tables, "sentiment")["set"]["source"] == "reference"

    # The user's own texts: another meaning of "up" / "down", noisier labels.
    texts, labels = domain_texts(30, seed=1)
    domain = register(
        tables,
        s3,
        drop_sentiment(
            tables, s3, texts, labels, minute=2, source="domain", encoder_version=encoder_version
        ),
    )
    assert domain.metrics["macro_f1"] < first.metrics["macro_f1"]  # the old rule kept it out
    assert (domain.status, domain.promoted) == ("production", True), domain.reason
    registered = registered_set(tables, "sentiment")
    assert registered["set"]["source"] == "domain" and registered["version"] == domain.version
    assert registered["history"][-1]["set"]["source"] == "reference"
    comparison = domain.comparison
    assert comparison["set"] == registered["set"] and comparison["metric"] == "macro_f1"
    assert comparison["candidate"] > comparison["production"] + 0.3
    assert "own_set" not in comparison  # the deciding set is its own

    # A retrain on the easy reference data scores higher on its own hold-out, but worse on
    # the registered domain set: it stays a candidate, and the set stays the domain's.
    retrain = register(
        tables,
        s3,
        drop_sentiment(
            tables,
            s3,
            reference_texts,
            reference_labels,
            minute=3,
            source="reference",
            encoder_version=encoder_version,
        ),
    )
    assert retrain.metrics["macro_f1"] > domain.metrics["macro_f1"]  # the old rule promoted it
    assert (retrain.status, retrain.promoted) == ("candidate", False)
    assert retrain.comparison["set"]["sha256"] == registered["set"]["sha256"]
    own = retrain.comparison["own_set"]
    assert own["set"]["source"] == "reference" and own["candidate"] > own["production"]
    assert "macro_f1" in (retrain.reason or "") and domain.version in (retrain.reason or "")
    assert registered_set(tables, "sentiment")["set"]["source"] == "domain"
    assert production_record(tables, "sentiment").target == domain.version  # type: ignore[union-attr]


def test_a_head_on_an_encoder_that_does_not_load_is_not_comparable(
    tables: Any, s3: Any, encoder_version: str
) -> None:
    texts, labels = labelled_texts(20, seed=0)
    first = register(
        tables,
        s3,
        drop_sentiment(
            tables, s3, texts, labels, minute=1, source="reference", encoder_version=encoder_version
        ),
    )
    assert first.promoted
    orphan = register(
        tables,
        s3,
        drop_sentiment(
            tables,
            s3,
            texts,
            labels,
            minute=2,
            source="reference",
            encoder_version="20260101T000000Z",
        ),
    )
    assert (orphan.status, orphan.promoted) == ("candidate", False)
    assert orphan.comparison["rule"] == "not_comparable"
    assert "comparison impossible" in (orphan.reason or "")


def test_a_head_on_another_encoder_version_is_scored_on_texts_encoded_for_it(
    tables: Any, s3: Any, encoder_version: str
) -> None:
    from support.sentiment import TextEncoder
    from support.text_encoders import tiny_encoder_onnx, tiny_tokenizer_json

    texts, labels = labelled_texts(20, seed=0)
    register(
        tables,
        s3,
        drop_sentiment(
            tables, s3, texts, labels, minute=1, source="reference", encoder_version=encoder_version
        ),
    )
    key, other = drop_text_encoder(tables, s3, minute=2, seed=3)
    register(tables, s3, key)
    encoder = TextEncoder(tiny_encoder_onnx(seed=3), tiny_tokenizer_json())
    newer = register(
        tables,
        s3,
        drop_sentiment(
            tables,
            s3,
            texts,
            labels,
            minute=3,
            source="reference",
            encoder_version=other,
            encoder=encoder,
        ),
    )
    assert newer.comparison["rule"] == "not_worse", newer.reason
    assert any(other in note for note in newer.comparison["notes"])


def test_the_job_names_its_hold_out_domain_with_data_and_reference_without(
    tables: Any, s3: Any, encoder_version: str
) -> None:
    import json
    from datetime import timedelta

    from support.model_drops import T0

    from learnloop.models.artifacts import new_version
    from training_jobs.sentiment.data import DEFAULT_DATA_KEY
    from training_jobs.sentiment.job import main

    bucket = tables.settings.bucket
    texts, labels = labelled_texts(12)
    body = "".join(
        json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels, strict=True)
    )
    s3.put_object(Bucket=bucket, Key=DEFAULT_DATA_KEY, Body=body.encode())
    s3.put_object(Bucket=bucket, Key="mine/tweets.jsonl", Body=body.encode())
    runs = {
        (): "reference",
        ("--data", f"s3://{bucket}/mine/tweets.jsonl"): "domain",
        ("--data", f"s3://{bucket}/mine/tweets.jsonl", "--evaluation-source", "reference"): (
            "reference"
        ),
    }
    for minute, (args, expected) in enumerate(runs.items()):
        version = new_version(T0 + timedelta(minutes=minute))
        argv = ["--cv", "3", "--version", version, *args]
        assert main(argv, settings=tables.settings, s3=s3, tables=tables) == 0
        key = f"models/sentiment/{version}/manifest.json"
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        evaluation = manifest["evaluation"]
        assert evaluation["source"] == expected, args
        assert evaluation["rows"] == manifest["extra"]["test_rows"]
