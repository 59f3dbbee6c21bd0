"""US federal holidays and the state holidays that state business-day clocks need.

Computed with the standard library only (the rules package may not import ``holidays``). The
calendars reproduce the ``holidays`` package's PUBLIC category for the federal calendar and for
CA, NY, VT, IL and IA (the states whose breach laws count business days: REGULATORY.md §1.11,
and Iowa Code 715C.2(8)); tests/rules cross-checks them for 2015-2035.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from functools import cache

MON, TUE, THU, FRI, SAT, SUN = 0, 1, 3, 4, 5, 6
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# CA Diwali (AB 268, state holiday from 2026). It follows the Hindu lunisolar calendar, which is
# not practical to compute, so the dates come from a published table (timeanddate.com, as used
# by the holidays package). Years beyond the table are reported as calendar gaps, never guessed.
DIWALI = {
    2026: (11, 8), 2027: (10, 29), 2028: (10, 17), 2029: (11, 5), 2030: (10, 26),
    2031: (11, 14), 2032: (11, 2), 2033: (10, 22), 2034: (11, 10), 2035: (10, 30),
}  # fmt: skip

DateRule = Callable[[int], "date | None"]


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday of a month; n = -1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _fixed(month: int, day: int) -> DateRule:
    return lambda year: date(year, month, day)


def _nth(month: int, weekday: int, n: int, shift: int = 0) -> DateRule:
    return lambda year: nth_weekday(year, month, weekday, n) + timedelta(days=shift)


def _table(dates: dict[int, tuple[int, int]]) -> DateRule:
    return lambda year: date(year, *dates[year]) if year in dates else None


@dataclass(frozen=True)
class Holiday:
    """One holiday: its date rule, the years it is in force, and how a weekend is observed."""

    name: str
    on: DateRule
    since: int = 1
    until: int = 9999
    # "both": Saturday -> Friday and Sunday -> Monday (5 U.S.C. 6103(b)); "sunday": only
    # Sunday -> Monday; "none": not moved.
    observed: str = "both"
    even_years_until: int = 0

    def in_force(self, year: int) -> bool:
        # Some election days were holidays only in even years up to a given year.
        odd_year_off = year <= self.even_years_until and year % 2 == 1
        return self.since <= year <= self.until and not odd_year_off


NEW_YEAR = Holiday("New Year's Day", _fixed(1, 1))
MLK = Holiday("Martin Luther King Jr. Day", _nth(1, MON, 3), since=1986)
PRESIDENTS = Holiday("Washington's Birthday", _nth(2, MON, 3), since=1971)
MEMORIAL = Holiday("Memorial Day", _nth(5, MON, -1), since=1971)
JUNETEENTH = Holiday("Juneteenth National Independence Day", _fixed(6, 19), since=2021)
INDEPENDENCE = Holiday("Independence Day", _fixed(7, 4))
LABOR = Holiday("Labor Day", _nth(9, MON, 1), since=1894)
COLUMBUS = Holiday("Columbus Day", _nth(10, MON, 2), since=1971)
VETERANS = Holiday("Veterans Day", _fixed(11, 11), since=1978)
THANKSGIVING = Holiday("Thanksgiving Day", _nth(11, THU, 4), since=1942)
CHRISTMAS = Holiday("Christmas Day", _fixed(12, 25))

FEDERAL = (
    NEW_YEAR, MLK, PRESIDENTS, MEMORIAL, JUNETEENTH, INDEPENDENCE, LABOR, COLUMBUS, VETERANS,
    THANKSGIVING, CHRISTMAS,
)  # fmt: skip
WITHOUT_COLUMBUS = tuple(holiday for holiday in FEDERAL if holiday is not COLUMBUS)
LINCOLN = Holiday("Lincoln's Birthday", _fixed(2, 12), since=1971)
SUSAN_B_ANTHONY_NY = Holiday("Susan B. Anthony Day", _fixed(2, 15), since=2004, observed="none")
# Election Day: the Tuesday after the first Monday of November.
ELECTION_DAY = _nth(11, MON, 1, 1)
ELECTION_NY = Holiday("Election Day", ELECTION_DAY, 2008, observed="none", even_years_until=2014)
ELECTION_IL = Holiday("Election Day", ELECTION_DAY, 2008, observed="none", even_years_until=9999)

CALENDARS: dict[str, tuple[Holiday, ...]] = {
    "US": FEDERAL,
    "CA": WITHOUT_COLUMBUS + (
        Holiday("Lincoln's Birthday", _fixed(2, 12), since=1971, until=2009),
        Holiday("Columbus Day", _nth(10, MON, 2), since=1971, until=2008),
        Holiday("Susan B. Anthony Day", _fixed(2, 15), since=2014, observed="none"),
        Holiday("Cesar Chavez Day", _fixed(3, 31), since=1995, observed="sunday"),
        Holiday("Day After Thanksgiving", _nth(11, THU, 4, 1), since=1975, observed="none"),
        Holiday("Diwali", _table(DIWALI), since=2026, observed="none"),
    ),
    "NY": FEDERAL + (LINCOLN, SUSAN_B_ANTHONY_NY, ELECTION_NY),
    "VT": WITHOUT_COLUMBUS + (
        Holiday("Town Meeting Day", _nth(3, TUE, 1), since=1800, observed="none"),
        Holiday("Bennington Battle Day", _fixed(8, 16), since=1778),
    ),
    "IL": FEDERAL + (
        LINCOLN,
        Holiday("Casimir Pulaski Day", _nth(3, MON, 1), since=1978, observed="none"),
        ELECTION_IL,
    ),
    # Iowa Code 1C.1 legal public holidays as the holidays package lists them (no Columbus Day).
    "IA": WITHOUT_COLUMBUS + (LINCOLN,),
}  # fmt: skip


def _observed(day: date, rule: str) -> date | None:
    if day.weekday() == SAT and rule == "both":
        return day - timedelta(days=1)
    if day.weekday() == SUN and rule != "none":
        return day + timedelta(days=1)
    return None


def _dates_of(holiday: Holiday, year: int) -> list[date]:
    if not holiday.in_force(year):
        return []
    day = holiday.on(year)
    if day is None:
        return []
    observed = _observed(day, holiday.observed)
    return [day] if observed is None else [day, observed]


@cache
def holidays_in(year: int, region: str = "US") -> dict[date, str]:
    """Holidays (actual and observed days) falling in ``year`` for "US" or a state code.

    Raises KeyError for a region without a calendar.
    """
    found: dict[date, str] = {}
    # Next year's rules too: New Year's Day on a Saturday is observed on 31 December.
    for rule_year in (year, year + 1):
        for holiday in CALENDARS[region]:
            for day in _dates_of(holiday, rule_year):
                if day.year == year:
                    found.setdefault(day, holiday.name)
    return dict(sorted(found.items()))


def calendar_gaps(year: int, region: str) -> tuple[str, ...]:
    """Holidays in force in ``year`` whose date this module cannot supply (a table ran out)."""
    return tuple(
        holiday.name
        for holiday in CALENDARS[region]
        if holiday.in_force(year) and holiday.on(year) is None
    )


def holiday_name(day: date, region: str = "US") -> str | None:
    return holidays_in(day.year, region).get(day)


def is_business_day(day: date, region: str) -> bool:
    return day.weekday() < SAT and holiday_name(day, region) is None


def add_business_days(start: date, count: int, region: str) -> date:
    """The ``count``-th business day after ``start`` (``start`` itself is day 0)."""
    day = start
    for _ in range(count):
        day += timedelta(days=1)
        while not is_business_day(day, region):
            day += timedelta(days=1)
    return day


def previous_business_day(day: date, region: str = "US") -> date:
    day -= timedelta(days=1)
    while not is_business_day(day, region):
        day -= timedelta(days=1)
    return day


def non_business_days(start: date, end: date, region: str) -> list[tuple[date, str]]:
    """Weekday holidays strictly after ``start`` up to and including ``end``."""
    return [
        (day, name)
        for year in range(start.year, end.year + 1)
        for day, name in holidays_in(year, region).items()
        if start < day <= end and day.weekday() < SAT
    ]
