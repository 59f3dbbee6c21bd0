"""SEC Form 8-K Item 1.05 (material cybersecurity incidents) for public companies.

Sources read this session [S], not the form's text itself: KPMG's summary of the 2023 final
rule and quotations of SEC Release No. 33-11216 (breachdocket.com, mktbolt.com): an Item 1.05
report is due within four business days after the registrant determines that the incident is
material; the determination itself must be made without unreasonable delay after discovery;
the US Attorney General may authorise a delay (national security or public safety).
Official text: https://www.sec.gov/files/form8-k.pdf (General Instruction B.1).

"Business day": a day other than a Saturday, a Sunday or a federal holiday (the SEC's usage,
e.g. 17 CFR 240.13e-4(a)(3)) [M]. The determination day is day 0; the fourth federal business
day after it is the last day to file. Federal holidays come from holiday_calendar's "US"
calendar (5 U.S.C. 6103, with observed days).
"""

from __future__ import annotations

from datetime import date

from incident_app.rules import holiday_calendar
from incident_app.rules.outcome import US
from incident_app.rules.outcome import Obligation

FILING_BUSINESS_DAYS = 4  # Form 8-K General Instruction B.1


def sec_8k_notice(determined_on: date, discovery: date) -> Obligation:
    """Form 8-K Item 1.05: 4 federal business days after the materiality determination."""
    due = holiday_calendar.add_business_days(determined_on, FILING_BUSINESS_DAYS, "US")
    skipped = holiday_calendar.non_business_days(determined_on, due, "US")
    return Obligation(
        "sec_8k_notice",
        US,
        due,
        "SEC Form 8-K Item 1.05; General Instruction B.1",
        f"The incident was determined to be material on {determined_on}: file a Form 8-K "
        "under Item 1.05 within four business days (weekends and federal holidays excluded).",
        {
            "materiality_determined_on": determined_on.isoformat(),
            "discovered_on": discovery.isoformat(),
            "business_days": "weekends and US federal holidays excluded",
            "holidays_skipped": ", ".join(f"{day} {name}" for day, name in skipped) or "none",
            "determination": "the materiality determination must itself be made without "
            "unreasonable delay after discovery",
            "delay": "only when the US Attorney General finds disclosure a substantial risk to "
            "national security or public safety and tells the SEC in writing",
            "confidence": "[S]",
        },
    )
