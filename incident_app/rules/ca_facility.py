"""Cal. Health & Safety Code 1280.15: licensed California clinics, health facilities, home
health agencies and hospices.

Read this session [V for the bill text, not the codified section]: AB 1755 (2014), as amended in
the Senate on 2014-08-04 (leginfo.ca.gov bill text and Legislative Counsel's digest): the
facility reports any unlawful or unauthorized access to, or use or disclosure of, a patient's
medical information to the State Department of Public Health (CDPH) AND to the affected patient
or the patient's representative no later than 15 business days after it has been detected
(previously 5 business days); a law-enforcement delay ends with a report within 15 business days
after the delay; internal paper records, e-mail or faxes misdirected within the same facility or
health care system while coordinating care are not "unauthorized" (1280.15(a)). The 15-day
period applies from 2015-01-01 (the bill's operative date, [S] REGULATORY.md §4); the chaptered
and current codified text were not read here: https://leginfo.legislature.ca.gov/faces/
codes_displaySection.xhtml?lawCode=HSC&sectionNum=1280.15.

The duty runs to every affected patient of the facility, whatever their state of residence, so
the count is the incident's affected_total. "Detected" is taken as the treated discovery date
(it cannot fall later). Business days exclude weekends and California state holidays.

When "CA" is in licensed_facility_states this module is the single source of the 1280.15
obligations: the engine drops the state table's 1280.15 rows for California (which fire on
California residents and cannot know whether the entity is a licensed facility).
"""

from __future__ import annotations

from datetime import date

from incident_app.rules import holiday_calendar
from incident_app.rules.facts import BreachFacts
from incident_app.rules.outcome import Obligation

CITATION = "Cal. Health & Safety Code 1280.15"
STATUTE_URL = (
    "https://leginfo.legislature.ca.gov/faces/codes_displaySection.xhtml"
    "?lawCode=HSC&sectionNum=1280.15"
)
FIFTEEN_DAYS_FROM = date(2015, 1, 1)  # AB 1755: 5 business days before, 15 from this date
RECIPIENTS = (
    ("residents", "each affected patient (or the patient's representative)"),
    ("other_regulator", "California Department of Public Health (CDPH)"),
)


def applies(facts: BreachFacts) -> bool:
    """The entity is a licensed health facility in California."""
    return "CA" in facts.licensed_facility_states


def is_table_row(obligation: Obligation) -> bool:
    """A 1280.15 obligation from the state table, replaced by this module's own."""
    return obligation.jurisdiction == "CA" and "1280.15" in obligation.citation


def facility_obligations(facts: BreachFacts, detected: date) -> list[Obligation]:
    """CDPH and each affected patient, 15 business days after detection (1280.15(b))."""
    days = 15 if detected >= FIFTEEN_DAYS_FROM else 5
    due = holiday_calendar.add_business_days(detected, days, "CA")
    return [_notice(facts, detected, due, days, recipient, name) for recipient, name in RECIPIENTS]


def _notice(
    facts: BreachFacts, detected: date, due: date, days: int, recipient: str, name: str
) -> Obligation:
    kind = "state_individual_notice" if recipient == "residents" else "state_regulator_notice"
    detail = {
        "recipient": recipient,
        "recipient_name": name,
        "patients": str(facts.affected_total),
        "clock_start": "detection of the unlawful or unauthorized access, use or disclosure "
        f"(taken as the treated discovery date, {detected})",
        "period": f"within {days} business days",
        "business_days": "weekends and CA state holidays excluded",
        "holidays_skipped": _skipped(detected, due),
        "statute_url": STATUTE_URL,
        "confidence": "[S]",
        "checked_against": "secondary",
        "source": "AB 1755 (2014) bill text as amended 2014-08-04, leginfo.ca.gov; "
        "REGULATORY.md §4.1",
        "scope": "licensed clinic, health facility, home health agency or hospice in "
        "California (licensed_facility_states)",
    }
    if facts.law_enforcement_delay is not None:
        detail["law_enforcement_delay"] = (
            "not applied: 1280.15 has its own delay; the report is then due within 15 business "
            "days after the delay ends"
        )
    gaps = sorted(
        {
            name
            for year in range(detected.year, due.year + 1)
            for name in holiday_calendar.calendar_gaps(year, "CA")
        }
    )
    if gaps:
        detail["calendar_warning"] = f"dates unknown for {', '.join(gaps)}; check by hand"
    return Obligation(
        kind,
        "CA",
        due,
        CITATION,
        f"Licensed California health facility: report the unauthorized access, use or "
        f"disclosure of medical information of {facts.affected_total} patient(s) to {name} "
        f"within {days} business days after detection.",
        detail,
    )


def _skipped(start: date, end: date) -> str:
    skipped = holiday_calendar.non_business_days(start, end, "CA")
    return ", ".join(f"{day} {name}" for day, name in skipped) or "none"
