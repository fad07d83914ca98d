"""Source-weighted text sentiment: hand-computed values (no store, no clock)."""

from __future__ import annotations

from datetime import date

import pytest

from learnloop.sentiment.aggregate import aggregate, source_means, weighted_score
from learnloop.settings import DEFAULT_SENTIMENT_SOURCE_WEIGHTS, Settings

WEIGHTS = dict(DEFAULT_SENTIMENT_SOURCE_WEIGHTS)
DAY = date(2026, 11, 20)


def row(source: str, polarity: float | None, at: str = "2026-11-20T10:00:00.000000Z", **kw):
    label = None if polarity is None else ("positive" if polarity > 0 else "negative")
    return {"source": source, "polarity": polarity, "label": label, "published_at": at, **kw}


def test_default_weights_are_the_issues() -> None:
    assert WEIGHTS == {"news": 0.4, "twitter": 0.3, "reddit": 0.2, "telegram": 0.1}
    assert Settings().sentiment_unknown_source_weight == 0.1


def test_all_four_sources_hand_computed() -> None:
    # news mean (0.8 + 0.4) / 2 = 0.6, twitter -0.5, reddit (0.1 + 0.3 + -0.1) / 3 = 0.1,
    # telegram 1.0: 0.4 * 0.6 + 0.3 * -0.5 + 0.2 * 0.1 + 0.1 * 1.0 = 0.24 - 0.15 + 0.02 + 0.1
    rows = [
        row("news", 0.8),
        row("news", 0.4),
        row("twitter", -0.5),
        row("reddit", 0.1),
        row("reddit", 0.3),
        row("reddit", -0.1),
        row("telegram", 1.0),
    ]
    assert weighted_score(source_means(rows), WEIGHTS) == 0.21
    # Not the plain mean of the texts (0.271429): a source's weight does not grow with volume.
    assert sum(r["polarity"] for r in rows) / len(rows) != pytest.approx(0.21)


def test_missing_sources_renormalise_over_those_present() -> None:
    # Only news 0.6 and reddit -0.3: (0.4 * 0.6 + 0.2 * -0.3) / (0.4 + 0.2) = 0.18 / 0.6
    rows = [row("news", 0.6), row("reddit", -0.3)]
    assert weighted_score(source_means(rows), WEIGHTS) == 0.3
    # One source alone is its own mean, whatever its weight.
    assert weighted_score(source_means([row("telegram", -0.7)]), WEIGHTS) == -0.7


def test_unknown_sources_take_the_unknown_weight() -> None:
    # news 1.0 (0.4), discord 0.0 (unknown: 0.1) -> 0.4 / 0.5 = 0.8
    means = source_means([row("news", 1.0), row("discord", 0.0)])
    assert weighted_score(means, WEIGHTS, unknown_weight=0.1) == 0.8
    # Weight 0 leaves them out of the score.
    assert weighted_score(means, WEIGHTS, unknown_weight=0.0) == 1.0
    assert weighted_score(source_means([row("discord", 0.5)]), WEIGHTS, unknown_weight=0) is None


def test_settable_weights_change_the_score() -> None:
    settings = Settings.from_env({"LEARNLOOP_SENTIMENT_SOURCE_WEIGHTS": "news=1,twitter=3"})
    means = source_means([row("news", 1.0), row("twitter", -1.0)])
    # (1 * 1 + 3 * -1) / 4 = -0.5
    assert weighted_score(means, dict(settings.sentiment_source_weights)) == -0.5


def test_a_window_range_with_volume_trend_and_unscored_texts() -> None:
    rows = [
        # Nov 19: reddit -0.4 alone -> -0.4
        row("reddit", -0.4, "2026-11-19T08:00:00.000000Z"),
        # Nov 20: news 0.6, twitter -0.5, an unscored reddit text -> (0.24 - 0.15) / 0.7
        row("news", 0.6, "2026-11-20T09:00:00.000000Z"),
        row("twitter", -0.5, "2026-11-20T23:59:59.999999Z"),
        row("reddit", None, "2026-11-20T12:00:00.000000Z"),
        # Nov 21: nothing. Outside the range: ignored.
        row("news", 1.0, "2026-11-22T00:00:00.000000Z"),
    ]
    out = aggregate(
        rows, first=date(2026, 11, 19), last=date(2026, 11, 21), window="day", weights=WEIGHTS
    )
    scores = [w["score"] for w in out["series"]]
    assert scores == [-0.4, 0.128571, None]
    assert [w["volume"] for w in out["series"]] == [1, 3, 0]
    assert [w["scored"] for w in out["series"]] == [1, 2, 0]
    assert [w["change"] for w in out["series"]] == [None, 0.528571, None]
    assert out["trend"] == {"slope": 0.528571, "change": 0.528571}
    # The range: news 0.6, twitter -0.5, reddit -0.4:
    # (0.24 - 0.15 - 0.08) / 0.9 = 0.011111
    assert out["score"] == 0.011111
    assert (out["volume"], out["scored"]) == (4, 3)
    assert out["labels"] == {"negative": 2, "neutral": 0, "positive": 1}
    assert out["sources"]["reddit"] == {"volume": 2, "scored": 1, "mean": -0.4, "weight": 0.222222}
    assert out["sources"]["news"]["weight"] == 0.444444


def test_hour_windows_and_distinct_users() -> None:
    rows = [
        row("reddit", 0.5, "2026-11-20T10:05:00.000000Z", user_id="u1"),
        row("reddit", -0.5, "2026-11-20T10:55:00.000000Z", user_id="u1"),
        row("reddit", 1.0, "2026-11-20T11:00:00.000000Z", user_id="u2"),
    ]
    out = aggregate(rows, first=DAY, last=DAY, window="hour", weights=WEIGHTS, count_users=True)
    assert len(out["series"]) == 24
    assert out["series"][10] == {
        "start": "2026-11-20T10:00:00Z",
        "score": 0.0,
        "volume": 2,
        "scored": 2,
        "change": None,
        "sources": {"reddit": {"volume": 2, "mean": 0.0}},
    }
    assert out["series"][11]["score"] == 1.0 and out["series"][11]["change"] == 1.0
    assert out["users"] == 2
    # Three points on a line? No: 0 at hour 10, 1 at hour 11: slope 1 per hour.
    assert out["trend"] == {"slope": 1.0, "change": 1.0}


def test_stored_numbers_and_junk_polarities() -> None:
    from decimal import Decimal

    rows = [row("news", 0.0), row("news", 0.0)]
    rows[0]["polarity"] = Decimal("0.5")
    rows[1]["polarity"] = float("nan")
    assert source_means(rows) == {"news": (1, 0.5)}
