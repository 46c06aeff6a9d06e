"""Reading the time a memory query names."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from opencode_python.memory.when import time_window

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def _days(query: str) -> tuple[date, date] | None:
    window = time_window(query, NOW)
    if window is None:
        return None
    start, end = (datetime.fromtimestamp(ms / 1000, UTC).date() for ms in window)
    return start, end


@pytest.mark.parametrize(
    ("query", "window"),
    [
        ("Who did Maria have dinner with on May 3, 2023?", (date(2023, 5, 3), date(2023, 5, 4))),
        ("on 7 May 2023", (date(2023, 5, 7), date(2023, 5, 8))),
        ("March 31st, 2023", (date(2023, 3, 31), date(2023, 4, 1))),
        ("What happened in October 2023?", (date(2023, 10, 1), date(2023, 11, 1))),
        ("in Dec 2022", (date(2022, 12, 1), date(2023, 1, 1))),
        ("31 February 2023", (date(2023, 2, 1), date(2023, 3, 1))),  # no such day: the month
        ("Where did I live in 2022?", (date(2022, 1, 1), date(2023, 1, 1))),
        ("yesterday", (date(2026, 12, 2), date(2026, 12, 3))),
        ("today", (date(2026, 12, 3), date(2026, 12, 4))),
        ("last week", (date(2026, 11, 23), date(2026, 11, 30))),
        ("this month", (date(2026, 12, 1), date(2027, 1, 1))),
        ("last month", (date(2026, 11, 1), date(2026, 12, 1))),
        ("last year", (date(2025, 1, 1), date(2026, 1, 1))),
        ("two days ago", (date(2026, 11, 30), date(2026, 12, 3))),
    ],
)
def test_named_times(query: str, window: tuple[date, date]) -> None:
    assert _days(query) == window


@pytest.mark.parametrize("query", ["What is my dog called?", "May I ask something?", "room 2023"])
def test_no_time_named(query: str) -> None:
    assert _days(query) is None
