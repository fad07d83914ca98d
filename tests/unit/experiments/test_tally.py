"""Counting exposed and converted users: users not events, first exposure wins, the window."""

from __future__ import annotations

from typing import Any

from learnloop.experiments.results import Tally, summarize, tally_users


def exposure(user: str, at: str, variant: str, experiment: str = "e") -> dict[str, Any]:
    return {
        "user_id": user,
        "type": "experiment_exposure",
        "occurred_at": f"2026-11-20T{at}",
        "properties": {"experiment_id": experiment, "variant": variant},
    }


def goal(user: str, at: str, kind: str = "app.bought") -> dict[str, Any]:
    return {"user_id": user, "type": kind, "occurred_at": f"2026-11-20T{at}", "properties": {}}


def tally(records: list[dict[str, Any]], **kwargs: Any) -> Tally:
    return tally_users(
        records, experiment_id="e", variants=["a", "b"], goal_event_type="app.bought", **kwargs
    )


def test_users_are_counted_once_however_many_events() -> None:
    records = [exposure("u1", "10:00", "a")] * 3 + [goal("u1", "11:00")] * 4
    result = tally(records)
    assert (result.exposed, result.converted) == ({"a": 1, "b": 0}, {"a": 1, "b": 0})


def test_a_user_belongs_to_their_first_exposure_in_any_order() -> None:
    records = [exposure("u1", "12:00", "a"), goal("u1", "13:00"), exposure("u1", "09:00", "b")]
    for ordered in (records, records[::-1]):
        result = tally(ordered)
        assert result.exposed == {"a": 0, "b": 1} and result.converted == {"a": 0, "b": 1}


def test_goals_before_the_exposure_other_types_and_other_experiments_do_not_count() -> None:
    records = [
        goal("u1", "08:00"),
        exposure("u1", "09:00", "a"),
        goal("u2", "10:00", kind="app.other"),
        exposure("u2", "09:00", "b"),
        exposure("u3", "09:00", "b", experiment="other"),
        goal("u3", "10:00"),
        goal("u4", "10:00"),  # never exposed
        exposure("u5", "09:00", "zz"),  # a variant the experiment does not have
    ]
    result = tally(records)
    assert result.exposed == {"a": 1, "b": 1}
    assert result.converted == {"a": 0, "b": 0}
    assert result.unknown_variant_exposures == 1


def test_the_window_and_exclusions() -> None:
    records = [
        exposure("early", "07:00", "a"),
        exposure("u1", "09:00", "a"),
        goal("u1", "23:00"),  # after the window closed
        exposure("gone", "09:00", "b"),
        goal("gone", "09:30"),
    ]
    result = tally(
        records,
        start="2026-11-20T08:00",
        end="2026-11-20T22:00",
        excluded={"gone"},
    )
    assert result.exposed == {"a": 1, "b": 0} and result.converted == {"a": 0, "b": 0}
    assert result.excluded_users == 1


def test_summary_of_an_empty_experiment_has_no_rates_and_even_odds() -> None:
    rows = summarize(tally([]), ["a", "b"])
    assert [r["conversion_rate"] for r in rows] == [None, None]
    assert [r["p_value"] for r in rows] == [None, None]
    assert (rows[0]["ci_low"], rows[0]["ci_high"]) == (0.0, 1.0)
    assert abs(rows[0]["prob_best"] - 0.5) < 0.02
