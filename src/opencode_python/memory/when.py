"""The time a memory query names ("in October 2023", "on 3 May 2023", "last week"), so
that memories about then rank higher.

Only forms that name a time outright are read: a month and year, a day and month with a
year, a year after "in"/"during", "today", "yesterday", "this/last week|month|year" and
"N days|weeks|months|years ago". Anything else names no time, and ranking is unchanged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH: Final = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR: Final = r"(?P<year>(?:19|20)\d\d)"
_DAY: Final = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_DAY_MONTH_YEAR: Final = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.I)
_MONTH_DAY_YEAR: Final = re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.I)
_MONTH_YEAR: Final = re.compile(rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b", re.I)
_IN_YEAR: Final = re.compile(rf"\b(?:in|during|of|from)\s+{_YEAR}\b", re.I)
_RELATIVE: Final = re.compile(
    r"\b(?P<which>this|last|past|previous)\s+(?P<unit>week|month|year)\b", re.I
)
_AGO: Final = re.compile(
    r"\b(?P<count>\d+|a|an|one|two|three)\s+(?P<unit>day|week|month|year)s?\s+ago\b", re.I
)
_DAYS: Final = re.compile(r"\b(?P<which>today|yesterday|tonight|last night)\b", re.I)
_COUNTS: Final = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}


def time_window(query: str, now: datetime | None = None) -> tuple[int, int] | None:
    """The [start, end) window in epoch ms that ``query`` names, or None."""
    now = now or datetime.now(UTC)
    window = _absolute(query) or _relative(query, now)
    if window is None:
        return None
    start, end = window
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _absolute(query: str) -> tuple[datetime, datetime] | None:
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        found = pattern.search(query)
        if found:
            try:
                day = datetime(
                    int(found["year"]),
                    _MONTHS[found["month"].lower()],
                    int(found["day"]),
                    tzinfo=UTC,
                )
            except ValueError:  # 31 February: not a date
                continue
            return day, day + timedelta(days=1)
    found = _MONTH_YEAR.search(query)
    if found:
        start = datetime(int(found["year"]), _MONTHS[found["month"].lower()], 1, tzinfo=UTC)
        return start, _add_months(start, 1)
    found = _IN_YEAR.search(query)
    if found:
        start = datetime(int(found["year"]), 1, 1, tzinfo=UTC)
        return start, start.replace(year=start.year + 1)
    return None


def _relative(query: str, now: datetime) -> tuple[datetime, datetime] | None:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    found = _DAYS.search(query)
    if found:
        which = found["which"].lower()
        start = today if which in ("today", "tonight") else today - timedelta(days=1)
        return start, start + timedelta(days=1)
    found = _RELATIVE.search(query)
    if found:
        unit, current = found["unit"].lower(), found["which"].lower() == "this"
        if unit == "week":
            start = today - timedelta(days=today.weekday())
            start = start if current else start - timedelta(weeks=1)
            return start, start + timedelta(weeks=1)
        if unit == "month":
            start = today.replace(day=1)
            start = start if current else _add_months(start, -1)
            return start, _add_months(start, 1)
        start = today.replace(month=1, day=1)
        start = start if current else start.replace(year=start.year - 1)
        return start, start.replace(year=start.year + 1)
    found = _AGO.search(query)
    if found:
        count = _COUNTS.get(found["count"].lower()) or int(found["count"])
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[found["unit"].lower()] * count
        centre = today - timedelta(days=days)
        slack = timedelta(days=max(1, days // 7))  # "three weeks ago" is roughly then
        return centre - slack, centre + slack + timedelta(days=1)
    return None


def _add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1)
