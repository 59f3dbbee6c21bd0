"""SEC Form 8-K Item 1.05: four federal business days after the materiality determination.

Expected dates counted by hand on a calendar: the determination day is day 0; weekends and
federal holidays (5 U.S.C. 6103, with the observed Friday/Monday) are skipped.
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import evaluate


def sec_notice(determined_on: date, **kwargs: object):
    facts = BreachFacts(
        discovered_on=date(2025, 9, 1),
        affected_total=10,
        materiality_determined_on=determined_on,
        **kwargs,  # type: ignore[arg-type]
    )
    determination = evaluate(facts)
    found = [item for item in determination.obligations if item.kind == "sec_8k_notice"]
    assert len(found) == 1
    return determination, found[0]


@pytest.mark.parametrize(
    ("determined_on", "due_on", "skipped"),
    [
        # Mon 15 Sep 2025: Tue, Wed, Thu, Fri.
        (date(2025, 9, 15), date(2025, 9, 19), "none"),
        # Mon 24 Nov 2025: Tue 25, Wed 26, (Thanksgiving Thu 27), Fri 28, Mon 1 Dec.
        (date(2025, 11, 24), date(2025, 12, 1), "2025-11-27 Thanksgiving Day"),
        # Wed 1 Jul 2026: Thu 2, (Fri 3 = Independence Day observed; the 4th is a Saturday),
        # Mon 6, Tue 7, Wed 8.
        (date(2026, 7, 1), date(2026, 7, 8), "2026-07-03 Independence Day"),
        # Tue 16 Jun 2026: Wed 17, Thu 18, (Fri 19 Juneteenth), Mon 22, Tue 23.
        (date(2026, 6, 16), date(2026, 6, 23), "2026-06-19 Juneteenth National Independence Day"),
        # Fri 15 Jan 2027: (Mon 18 = Martin Luther King Jr. Day), Tue 19 ... Fri 22.
        (date(2027, 1, 15), date(2027, 1, 22), "2027-01-18 Martin Luther King Jr. Day"),
        # Determined on a Saturday (13 Jun 2026): Mon 15, Tue 16, Wed 17, Thu 18.
        (date(2026, 6, 13), date(2026, 6, 18), "none"),
    ],
)
def test_form_8k_due_four_business_days_after_the_determination(determined_on, due_on, skipped):
    _, notice = sec_notice(determined_on)

    assert notice.due_on == due_on
    assert notice.citation == "SEC Form 8-K Item 1.05; General Instruction B.1"
    assert notice.jurisdiction == "US"
    assert notice.detail["holidays_skipped"] == skipped
    assert notice.detail["materiality_determined_on"] == determined_on.isoformat()


def test_the_8k_is_due_even_when_hipaa_finds_no_reportable_breach():
    determination, notice = sec_notice(date(2025, 9, 15), phi_secured=True)

    assert determination.reportable is False
    assert notice.due_on == date(2025, 9, 19)


def test_no_materiality_determination_no_8k():
    determination = evaluate(BreachFacts(discovered_on=date(2025, 9, 1), affected_total=10))

    assert not [item for item in determination.obligations if item.kind == "sec_8k_notice"]
