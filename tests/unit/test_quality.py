"""The data-quality rule itself: what flags a user-minute and what does not."""

from __future__ import annotations

from learnloop.quality import Limits, Row, judge, judge_rows, quality_summary
from learnloop.quality.checks import MAX_ENTRIES, content_digest

LIMITS = Limits(per_minute=20, same_instant=20, duplicates=20)


def at(second: int, micro: int = 0) -> str:
    return f"2026-11-20T10:00:{second:02d}.{micro:06d}Z"


def test_twenty_distinct_rows_a_minute_pass_and_the_21st_flags_the_minute() -> None:
    rows = [f"{at(i)}|-|coin#C{i}" for i in range(21)]
    assert judge(rows[:20], LIMITS) == ()
    assert judge(rows, LIMITS) == ("burst",)


def test_a_redelivered_row_counts_once() -> None:
    rows = [f"{at(i)}|-|coin#C{i}" for i in range(20)]
    assert judge(rows + rows + rows, LIMITS) == ()


def test_identical_instants_and_duplicate_content_are_their_own_reasons() -> None:
    digest = content_digest("myapp.clicked", {"button": "buy"})
    same_instant = [f"{at(0)}|-|e{i}" for i in range(21)]
    assert "same_instant" in judge(same_instant, Limits(100, 20, 20))
    duplicates = [f"{at(i % 60, i)}|{digest}|e{i}" for i in range(21)]
    assert judge(duplicates, Limits(100, 20, 20)) == ("duplicate_content",)
    # Other content, or the same id again, is no flood.
    varied = [f"{at(i)}|{content_digest('t', {'i': i})}|e{i}" for i in range(21)]
    assert judge(varied, Limits(100, 20, 20)) == ()


def test_a_full_set_is_a_burst_whatever_the_limits() -> None:
    rows = [f"{at(i % 60, i)}|-|r{i}" for i in range(MAX_ENTRIES)]
    assert "burst" in judge(rows, Limits(10**6, 10**6, 10**6))


def test_a_file_is_judged_per_user_and_minute() -> None:
    bot = [Row("bot", at(i % 60, i), f"coin#C{i}") for i in range(25)]
    human = [Row("u1", f"2026-11-20T{h:02d}:00:00.000000Z", f"coin#H{h}") for h in range(24)]
    # 25 rows of one user spread over two minutes: 20 + 5, no burst.
    spread = [
        Row("u2", f"2026-11-20T10:0{i // 20}:{i % 20:02d}.000000Z", f"coin#S{i}") for i in range(25)
    ]
    flagged = judge_rows(bot + human + spread, LIMITS)
    assert set(flagged) == {("bot", f"coin#C{i}") for i in range(25)}


def test_the_summary_counts_rows_users_reasons_and_completeness() -> None:
    reactions = [{"user_id": "u1"}, {"user_id": "bot", "quality": "burst"}]
    events = [
        {"user_id": "bot", "quality": "burst,duplicate_content"},
        {"user_id": "u2", "quality": None},
    ]
    assert quality_summary(reactions, events) == {
        "rows": 4,
        "flagged_rows": 2,
        "flagged_reactions": 1,
        "flagged_events": 1,
        "flagged_users": 1,
        "duplicates": 1,
        "by_reason": {"burst": 2, "duplicate_content": 1},
        "completeness": 0.5,
    }
    assert quality_summary([], [])["completeness"] is None
