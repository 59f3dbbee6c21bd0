"""Holiday calendars added for state business-day clocks (issue #17), checked against the
holidays package like the original four."""

from __future__ import annotations

from datetime import date

import holidays
import pytest

from incident_app.rules.holiday_calendar import add_business_days
from incident_app.rules.holiday_calendar import holidays_in


@pytest.mark.parametrize("region", ["IA"])
def test_added_calendars_match_the_holidays_package_2015_to_2035(region):
    for year in range(2015, 2036):
        reference = {day for day in holidays.US(subdiv=region, years=year) if day.year == year}

        assert set(holidays_in(year, region)) == reference, (region, year)


def test_iowa_business_days_skip_lincolns_birthday():
    # From Monday 2026-02-09: Tue 10, Wed 11, (Thu 12 Lincoln's Birthday), Fri 13,
    # (Mon 16 Washington's Birthday), Tue 17.
    assert add_business_days(date(2026, 2, 9), 4, "IA") == date(2026, 2, 17)
