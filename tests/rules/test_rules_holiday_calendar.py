"""The stdlib holiday calendar, cross-checked against the `holidays` package.

rules/ may not import `holidays`; the tests may, to prove the two agree.
"""

from __future__ import annotations

from datetime import date

import holidays
import pytest

from incident_app.rules import holiday_calendar
from incident_app.rules.holiday_calendar import add_business_days
from incident_app.rules.holiday_calendar import calendar_gaps
from incident_app.rules.holiday_calendar import holidays_in
from incident_app.rules.holiday_calendar import nth_weekday
from incident_app.rules.holiday_calendar import previous_business_day

YEARS = range(2015, 2036)


@pytest.mark.parametrize("region", ["US", "CA", "NY", "VT", "IL"])
def test_calendar_matches_the_holidays_package_2015_to_2035(region):
    subdiv = None if region == "US" else region
    for year in YEARS:
        reference = {day for day in holidays.US(subdiv=subdiv, years=year) if day.year == year}

        assert set(holidays_in(year, region)) == reference, (region, year)


@pytest.mark.parametrize(
    ("day", "region", "name"),
    [
        (date(2021, 12, 31), "US", "New Year's Day"),  # Jan 1 2022 is a Saturday
        (date(2022, 6, 20), "US", "Juneteenth National Independence Day"),  # Sunday -> Monday
        (date(2020, 7, 3), "US", "Independence Day"),  # Saturday -> Friday
        (date(2025, 11, 27), "US", "Thanksgiving Day"),
        (date(2025, 10, 13), "US", "Columbus Day"),
        (date(2025, 11, 28), "CA", "Day After Thanksgiving"),
        (date(2025, 3, 31), "CA", "Cesar Chavez Day"),
        (date(2026, 11, 8), "CA", "Diwali"),
        (date(2025, 11, 4), "NY", "Election Day"),
        (date(2023, 2, 13), "NY", "Lincoln's Birthday"),  # Sunday -> Monday
        (date(2025, 3, 4), "VT", "Town Meeting Day"),
        (date(2025, 8, 15), "VT", "Bennington Battle Day"),  # Saturday -> Friday
        (date(2026, 3, 2), "IL", "Casimir Pulaski Day"),
        (date(2024, 11, 5), "IL", "Election Day"),
    ],
)
def test_known_holidays(day, region, name):
    assert holiday_calendar.holiday_name(day, region) == name


@pytest.mark.parametrize(
    ("day", "region"),
    [
        (date(2025, 10, 13), "CA"),  # no Columbus Day in California
        (date(2025, 10, 13), "VT"),
        (date(2025, 11, 4), "IL"),  # Illinois: election day in even years only
        (date(2025, 3, 30), "CA"),
    ],
)
def test_not_holidays(day, region):
    assert holiday_calendar.holiday_name(day, region) is None


@pytest.mark.parametrize(
    ("year", "month", "weekday", "n", "expected"),
    [
        (2025, 5, 0, -1, date(2025, 5, 26)),  # last Monday of May
        (2025, 12, 0, -1, date(2025, 12, 29)),  # last Monday of December
        (2025, 11, 3, 4, date(2025, 11, 27)),  # fourth Thursday of November
        (2025, 9, 0, 1, date(2025, 9, 1)),  # first Monday of September, on the 1st
    ],
)
def test_nth_weekday(year, month, weekday, n, expected):
    assert nth_weekday(year, month, weekday, n) == expected


@pytest.mark.parametrize(
    ("start", "count", "region", "expected"),
    [
        (date(2025, 11, 20), 15, "CA", date(2025, 12, 15)),
        (date(2025, 11, 20), 15, "US", date(2025, 12, 12)),  # no day-after-Thanksgiving
        (date(2025, 9, 15), 0, "US", date(2025, 9, 15)),
        (date(2025, 11, 14), 5, "NY", date(2025, 11, 21)),
        (date(2026, 1, 10), 15, "CA", date(2026, 2, 2)),  # from a Saturday, MLK Day skipped
    ],
)
def test_add_business_days(start, count, region, expected):
    assert add_business_days(start, count, region) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 8, 9), date(2025, 8, 8)),  # Saturday -> Friday
        (date(2025, 9, 2), date(2025, 8, 29)),  # Tuesday after Labor Day -> Friday before
        (date(2025, 12, 26), date(2025, 12, 24)),
    ],
)
def test_previous_business_day(day, expected):
    assert previous_business_day(day) == expected


def test_diwali_after_the_published_table_is_a_reported_gap():
    assert calendar_gaps(2036, "CA") == ("Diwali",)
    assert calendar_gaps(2035, "CA") == ()
    assert calendar_gaps(2036, "NY") == ()


def test_unknown_region_has_no_calendar():
    with pytest.raises(KeyError):
        holidays_in(2025, "TX")
