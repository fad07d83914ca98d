"""Labelled texts as datasets publish them: PhraseBank's latin-1 lines, label maps, formats;
and the routing choice of the fine-tuning job, on hand-computed rows."""

from __future__ import annotations

import numpy as np
import pytest

from learnloop.sentiment.labelled import (
    LabelledDataError,
    parse_label_map,
    read_labelled,
    to_jsonl,
)
from training_jobs.sentiment.fine_tune import choose_routing, route

LABELS = ("negative", "neutral", "positive")


def test_phrasebank_lines_read_in_latin1_as_published() -> None:
    data = "Net sales rose 5 % to EUR 10\xa0mn .@positive\nThe CEO is Jörg M@ier .@neutral\n"
    texts, labels = read_labelled(data.encode("latin-1"), "Sentences_50Agree.txt")
    assert texts == ["Net sales rose 5 % to EUR 10\xa0mn .", "The CEO is Jörg M@ier ."]
    assert labels == ["positive", "neutral"]
    # the same file in UTF-8 reads the same
    assert read_labelled(data.encode("utf-8"), "s.txt") == (texts, labels)
    with pytest.raises(LabelledDataError, match="line 2: no '@'"):
        read_labelled(b"a@positive\nno label here\n", "s.txt")


def test_a_label_map_reads_0_1_2_coded_datasets() -> None:
    data = b"text,label\nsales fell,0\nsales rose,1\nboard met,2\n"
    mapping = "0=negative,1=positive,2=neutral"
    assert read_labelled(data, "d.csv", labels=mapping)[1] == ["negative", "positive", "neutral"]
    # without the map, 0/1 are the polarity -1/0/1 and 2 is no label
    with pytest.raises(LabelledDataError, match="line 4: unknown label '2'"):
        read_labelled(data, "d.csv")
    assert parse_label_map({"0": "NEG"}) == {"0": "negative"}
    with pytest.raises(LabelledDataError, match="is not KEY=LABEL"):
        parse_label_map("0=negative,1")
    with pytest.raises(LabelledDataError, match="'good' is not one of"):
        parse_label_map("0=good")


def test_the_format_option_overrides_the_suffix_and_jsonl_round_trips() -> None:
    body = to_jsonl(["é up", "down"], ["positive", "negative"])
    assert read_labelled(body, "labelled.data", format="jsonl") == (
        ["é up", "down"],
        ["positive", "negative"],
    )
    with pytest.raises(LabelledDataError, match="format 'xml'"):
        read_labelled(body, "x.jsonl", format="xml")
    with pytest.raises(LabelledDataError, match="is not ascii"):
        read_labelled("é@positive".encode(), "x.txt", encoding="ascii")


def test_routing_blends_only_unsure_rows() -> None:
    model = np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]])
    lexicon = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    routed = route(model, lexicon, below=0.6, lexicon_weight=0.5)
    np.testing.assert_allclose(routed, [[0.25, 0.15, 0.6], [0.9, 0.05, 0.05]])


def test_routing_is_kept_only_when_it_beats_the_model_alone() -> None:
    # row 0: the model is unsure and wrong, the lexicon right → routing fixes it
    model = np.array([[0.45, 0.3, 0.25], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    lexicon = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    truth = ["positive", "neutral", "positive"]
    routing, report = choose_routing(model, lexicon, truth, LABELS)
    assert routing is not None and report["kept"]
    assert report["best"]["macro_f1"] == 1.0 > report["model_macro_f1"]
    # a lexicon that is wrong where the model is unsure: the model alone stays
    wrong = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    routing, report = choose_routing(model, wrong, ["negative", "neutral", "positive"], LABELS)
    assert routing is None and not report["kept"]
