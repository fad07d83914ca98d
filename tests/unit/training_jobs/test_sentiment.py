"""The sentiment job's pieces without AWS: labels, reading, the estimator, ONNX, the artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.sentiment import labelled_texts, tiny_encoder
from support.text_encoders import tiny_encoder_onnx, tiny_tokenizer_json

from learnloop.exceptions import NotFittedError
from learnloop.models.conversion import onnx_predict
from learnloop.models.kinds import ArtifactRejectedError, check_sentiment
from training_jobs.exceptions import TrainingDataError
from training_jobs.sentiment.data import load_labelled, parse_label, read_labelled
from training_jobs.sentiment.job import build_artifact, main, train_sentiment
from training_jobs.sentiment.model import NotEnoughLabelledDataError, SentimentClassifier

ENCODER_REF = {"name": "text_encoder", "version": "20261120T090000Z"}
FAST = {"Cs": (1.0, 10.0), "cv": 3}


@pytest.fixture(scope="module")
def trained() -> object:
    texts, labels = labelled_texts(30)
    return train_sentiment(texts, labels, tiny_encoder(), **FAST)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("negative", "negative"),
        ("Positive", "positive"),
        (" NEUTRAL ", "neutral"),
        ("neg", "negative"),
        ("pos", "positive"),
        ("neu", "neutral"),
        (-1, "negative"),
        (0, "neutral"),
        (1, "positive"),
        ("-1", "negative"),
        ("+1", "positive"),
    ],
)
def test_labels_parse_in_every_accepted_spelling(value: object, label: str) -> None:
    assert parse_label(value) == label


@pytest.mark.parametrize("value", ["meh", "", None, True, 2, 0.5, ["positive"]])
def test_unknown_labels_are_refused_by_name(value: object) -> None:
    with pytest.raises(TrainingDataError, match="unknown label"):
        parse_label(value)


def test_jsonl_and_csv_read_alike_and_errors_name_the_line(tmp_path: Path) -> None:
    jsonl = (
        b'{"text": "coin up", "label": "positive", "id": 7}\n\n{"text": "coin down", "label": -1}\n'
    )
    csv = b'\xef\xbb\xbfid,label,text\n1,pos,coin up\n2,negative,"coin, down"\n'
    assert read_labelled(jsonl, "a.jsonl") == (["coin up", "coin down"], ["positive", "negative"])
    assert read_labelled(csv, "a.CSV") == (["coin up", "coin, down"], ["positive", "negative"])
    with pytest.raises(TrainingDataError, match="line 2: unknown label"):
        read_labelled(b'{"text": "a", "label": "pos"}\n{"text": "b", "label": "x"}\n', "d.jsonl")
    with pytest.raises(TrainingDataError, match="line 1: text is missing"):
        read_labelled(b'{"label": "pos"}\n', "d.jsonl")
    with pytest.raises(TrainingDataError, match="line 1: not a JSON object"):
        read_labelled(b"[1, 2]\n", "d.jsonl")
    with pytest.raises(TrainingDataError, match="over 2000"):
        read_labelled(json.dumps({"text": "x" * 2001, "label": 1}).encode(), "d.jsonl")
    with pytest.raises(TrainingDataError, match="header must name"):
        read_labelled(b"sentence,label\na,pos\n", "d.csv")
    with pytest.raises(TrainingDataError, match=r"\.jsonl, \.ndjson, \.csv or \.txt"):
        read_labelled(b"a@positive\n", "d.tsv")
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl)
    assert load_labelled(path)[1] == ["positive", "negative"]
    with pytest.raises(TrainingDataError, match="cannot read"):
        load_labelled(tmp_path / "missing.jsonl")


def test_the_head_separates_distinguishable_texts_well_above_chance(trained: object) -> None:
    metrics = trained.metrics  # type: ignore[attr-defined]
    assert metrics["accuracy"] >= 0.9 and metrics["macro_f1"] >= 0.9
    assert metrics["majority_accuracy"] < 0.4  # three balanced classes: chance is 1/3
    assert trained.test_rows == 18 and trained.train_rows == 72  # type: ignore[attr-defined]
    classifier = trained.classifier  # type: ignore[attr-defined]
    assert classifier.classes_ == ["negative", "neutral", "positive"]
    assert classifier.C_ in (1.0, 10.0) and set(classifier.cv_scores_) == {1.0, 10.0}
    encoder = tiny_encoder()
    assert classifier.predict(encoder.encode(["the coin up", "cat down", "meme news"])) == [
        "positive",
        "negative",
        "neutral",
    ]


def test_onnx_probabilities_equal_scikit_learns_to_1e_5(trained: object) -> None:
    texts, _ = labelled_texts(20, seed=1)
    X = tiny_encoder().encode(texts)
    classifier = trained.classifier  # type: ignore[attr-defined]
    ours = onnx_predict(trained.onnx, X)  # type: ignore[attr-defined]
    np.testing.assert_allclose(ours, classifier.predict_proba(X), atol=1e-5, rtol=0)
    assert trained.metrics["onnx_max_abs_diff"] <= 1e-5  # type: ignore[attr-defined]


def test_too_little_data_is_a_clear_error_naming_each_short_label() -> None:
    texts, labels = labelled_texts(30)
    keep = [i for i, label in enumerate(labels) if label != "neutral"]
    with pytest.raises(NotEnoughLabelledDataError, match="neutral 0") as raised:
        train_sentiment([texts[i] for i in keep], [labels[i] for i in keep], tiny_encoder())
    assert raised.value.details == [{"field": "label.neutral", "message": "0 of at least 10"}]
    few_texts, few_labels = labelled_texts(4)
    with pytest.raises(NotEnoughLabelledDataError, match="at least 10"):
        train_sentiment(few_texts, few_labels, tiny_encoder())
    with pytest.raises(NotEnoughLabelledDataError, match="two or more classes"):
        SentimentClassifier().fit(np.zeros((5, 3)), ["positive"] * 5)
    with pytest.raises(NotFittedError):
        SentimentClassifier().predict(np.zeros((1, 3)))


def test_the_artifact_pins_its_encoder_and_passes_the_registration_check(
    trained: object,
) -> None:
    files, manifest = build_artifact(trained, ENCODER_REF, version="20261120T100000Z")  # type: ignore[arg-type]
    extra = manifest["extra"]
    assert extra["kind"] == "sentiment"
    assert extra["labels"] == ["negative", "neutral", "positive"]
    assert extra["text_encoder"] == ENCODER_REF and extra["embedding_dim"] == 384
    assert {"accuracy", "macro_f1"} <= set(manifest["metrics"])
    check_sentiment(files, manifest)
    for broken, reason in (
        ({**extra, "labels": ["bad", "good"]}, "extra.labels"),
        ({**extra, "text_encoder": {"name": "text_encoder"}}, "extra.text_encoder"),
        ({**extra, "embedding_dim": 8}, r"\[batch, 8\]"),
    ):
        with pytest.raises(ArtifactRejectedError, match=reason):
            check_sentiment(files, {**manifest, "extra": broken})


def test_main_trains_from_a_file_and_an_encoder_folder(tmp_path: Path) -> None:
    encoder_dir = tmp_path / "encoder"
    encoder_dir.mkdir()
    (encoder_dir / "model.onnx").write_bytes(tiny_encoder_onnx())
    (encoder_dir / "tokenizer.json").write_bytes(tiny_tokenizer_json())
    (encoder_dir / "manifest.json").write_text(json.dumps(ENCODER_REF))
    texts, labels = labelled_texts(15)
    data = tmp_path / "labelled.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels, strict=True)
        )
    )
    out = tmp_path / "out"
    argv = ["--data", str(data), "--encoder-dir", str(encoder_dir), "--out", str(out), "--cv", "3"]
    assert main([*argv, "--version", "20261120T100000Z"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["extra"]["text_encoder"]["version"] == ENCODER_REF["version"]
    assert (out / "model.onnx").exists()
    assert (
        main(
            [
                "--data",
                str(tmp_path / "none.jsonl"),
                "--encoder-dir",
                str(encoder_dir),
                "--out",
                str(out),
            ]
        )
        == 1
    )


# --- extra training-only rows (AllAgree beside 50Agree) never carry held-out sentences -------


def test_extra_rows_drop_held_out_and_validation_sentences(monkeypatch: pytest.MonkeyPatch) -> None:
    from training_jobs.sentiment import tuned

    words = {"negative": "loss fell", "neutral": "met analysts", "positive": "profit rose"}
    labels = [label for label in words for _ in range(20)]
    texts = [f"{words[y]} in quarter {i}" for i, y in enumerate(labels)]
    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def fake_fine_tune(fit_x: Any, fit_y: Any, val_x: Any, val_y: Any, **_: Any) -> Any:
        seen.update(fit_x=list(fit_x), fit_y=list(fit_y), val_x=list(val_x))
        raise Stop

    monkeypatch.setattr(tuned, "fine_tune", fake_fine_tune)
    _, test = tuned.split_rows(labels, test_size=0.2, random_state=42)
    held_out = [texts[i] for i in test]
    # the "AllAgree" file: every sentence again (one re-spaced and upper-cased), plus a new one
    extra_x = [f"  {t.upper()} " if i == test[0] else t for i, t in enumerate(texts)]
    extra_x.append("a brand new sentence")
    extra_y = [*labels, "neutral"]
    with pytest.raises(Stop):
        tuned.train_fine_tuned(
            texts,
            labels,
            random_state=42,
            extra_texts=extra_x,
            extra_labels=extra_y,
        )
    banned = {" ".join(t.split()).casefold() for t in [*held_out, *seen["val_x"]]}
    trained = {" ".join(t.split()).casefold() for t in seen["fit_x"]}
    assert not trained & banned  # no held-out or validation sentence, in any spelling
    n_fit = len(texts) - len(held_out) - len(seen["val_x"])
    # the training rows twice (their AllAgree copies) and the new sentence once
    assert len(seen["fit_x"]) == 2 * n_fit + 1
    assert "a brand new sentence" in seen["fit_x"]
    assert len(seen["fit_y"]) == len(seen["fit_x"])


def test_extra_training_rows_report_what_they_dropped() -> None:
    from training_jobs.sentiment.tuned import extra_training_rows

    texts, labels, report = extra_training_rows(
        ["Profit rose.", "Sales  fell.", "SALES FELL."], ["positive", "negative", "negative"],
        exclude=["sales fell."],
    )  # fmt: skip
    assert (texts, labels) == (["Profit rose."], ["positive"])
    assert report == {"given": 3, "excluded": 2, "added": 1}


def test_main_passes_extra_data_to_fine_tuning_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from training_jobs.sentiment import tuned

    def write(name: str, n: int) -> Path:
        texts, labels = labelled_texts(n)
        path = tmp_path / name
        path.write_text(
            "".join(
                json.dumps({"text": t, "label": y}) + "\n"
                for t, y in zip(texts, labels, strict=True)
            )
        )
        return path

    data, extra = write("labelled.jsonl", 15), write("extra.jsonl", 4)
    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def fake(texts: Any, labels: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(tuned, "train_fine_tuned", fake)
    argv = ["--data", str(data), "--extra-data", str(extra), "--out", str(tmp_path / "out")]
    with pytest.raises(Stop):
        main(["--fine-tune", *argv])
    assert len(seen["extra_texts"]) == len(seen["extra_labels"]) == 4 * 3
    # the frozen head has no use for it: a clear error, not a silent ignore
    assert main([*argv, "--encoder-dir", str(tmp_path)]) == 1
    assert "--extra-data is for --fine-tune only" in capsys.readouterr().err
