"""The FTC Health Breach Notification Rule, 16 CFR 318 (as amended, effective 2024-07-29).

For vendors of personal health records, PHR related entities and their third party service
providers that are NOT HIPAA covered entities or business associates (318.1(a)): such an entity
has no HIPAA obligations at all.

Read this session [V]: 318.1 and 318.2 as amended (checkoutapi.com eCFR mirror, Title 16 as
revised 2024-11-20): scope, and "breach of security" = acquisition of unsecured PHR identifiable
health information without the individual's authorisation, presumed from unauthorised access
unless reliable evidence shows no acquisition, and including unauthorised disclosures;
318.5(a) (ecfr.io, federal.elaws.us, Oct 2024): individual notice by first-class mail or e-mail,
substitute notice when contact data for TEN or more individuals is insufficient (90-day web
posting or major media, toll-free number for 90 days); 318.6 as amended (self-law.org): content.
Read [S] (REGULATORY.md §5; cybersecuritylawfundamentals.com on the 2024 amendment), text not
found in the stored sources: 318.3(b) a third party service provider notifies the vendor or PHR
related entity (its designated official) and obtains acknowledgment; 318.4(a) every notice
without unreasonable delay and no later than 60 calendar days after discovery; 318.4(c)
law-enforcement delay as in 164.412; 318.5(b) media where MORE than 500 residents of a State or
jurisdiction; 318.5(c) the FTC: 500 or more individuals at the same time as the individual
notices (no later than 60 calendar days); fewer than 500, a log submitted within 60 calendar
days after the end of the calendar year. Official text:
https://www.ecfr.gov/current/title-16/chapter-I/subchapter-C/part-318.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from incident_app.rules.delay import DelayWindow
from incident_app.rules.delay import delayed_due
from incident_app.rules.facts import BreachFacts
from incident_app.rules.outcome import US
from incident_app.rules.outcome import Obligation

WINDOW = timedelta(days=60)  # 318.4(a)
FTC_LARGE_BREACH = 500  # "500 or more individuals", 318.5(c)
MEDIA_THRESHOLD = 500  # "more than 500 residents of a State or jurisdiction", 318.5(b)
SUBSTITUTE_AT = 10  # "ten or more individuals", 318.5(a)(2)
REGIME = "FTC Health Breach Notification Rule (16 CFR 318)"


def ftc_reportability(facts: BreachFacts) -> tuple[bool, str]:
    """Whether a breach of security of unsecured PHR identifiable health information occurred.

    16 CFR 318.2: only unsecured information counts (secured per the HHS guidance), and
    unauthorised access is presumed to be acquisition unless reliable evidence shows otherwise;
    ``low_probability_of_compromise`` records that evidence for these roles.
    """
    if facts.phi_secured:
        return False, (
            "Not a breach of security under 16 CFR 318.2: the PHR identifiable health "
            "information was secured (unusable, unreadable or indecipherable per the HHS "
            "guidance), and the rule covers only unsecured information."
        )
    if facts.low_probability_of_compromise:
        return False, (
            "Not a breach of security under 16 CFR 318.2: reliable evidence shows that there "
            "has not been, or could not reasonably have been, unauthorised acquisition."
        )
    return True, (
        "Presumed breach of security of unsecured PHR identifiable health information "
        "(16 CFR 318.2): unauthorised access is presumed to be acquisition, and no reliable "
        "evidence shows otherwise."
    )


def ftc_obligations(
    facts: BreachFacts, discovery: date, delay: DelayWindow | None
) -> tuple[list[Obligation], list[str]]:
    """Every FTC-rule notice the role and the facts call for."""
    due = discovery + WINDOW
    if facts.entity_role == "third_party_service_provider":
        return [_timed(vendor_notice(facts, discovery, due), delay)], [_provider_note()]
    obligations = [individual_notice(facts, discovery, due)]
    warnings = []
    if facts.insufficient_contact_count >= SUBSTITUTE_AT:
        obligations.append(substitute_notice(facts, due))
    elif facts.insufficient_contact_count:
        warnings.append(
            f"{facts.insufficient_contact_count} individual(s) have insufficient contact "
            "information: 16 CFR 318.5(a)(2) requires substitute notice only for ten or more; "
            "keep trying the usual methods and document the attempts."
        )
    obligations.append(ftc_notice(facts, discovery, due))
    obligations.extend(media_notices(facts, due))
    return [_timed(item, delay) for item in obligations], warnings


def individual_notice(facts: BreachFacts, discovery: date, due: date) -> Obligation:
    """Notice to each individual, 16 CFR 318.4(a) and 318.5(a): discovery + 60 days."""
    return Obligation(
        "individual_notice",
        US,
        due,
        "16 CFR 318.4(a); 318.5(a)",
        f"Notify each of the {facts.affected_total} affected individuals without unreasonable "
        f"delay and no later than 60 calendar days after discovery ({discovery} is day 0).",
        {
            "regime": REGIME,
            "method": "first-class mail, or e-mail if the individual chose e-mail as the "
            "primary method (with text, in-app message or banner) (318.5(a)(1))",
            "content": "16 CFR 318.6 items, including who acquired the information if known",
        },
    )


def substitute_notice(facts: BreachFacts, due: date) -> Obligation:
    """Substitute notice for ten or more unreachable individuals, 16 CFR 318.5(a)(2)."""
    return Obligation(
        "substitute_notice",
        US,
        due,
        "16 CFR 318.5(a)(2)",
        f"{facts.insufficient_contact_count} individuals have insufficient or out-of-date "
        "contact information: post a conspicuous notice on the home page for 90 days or use "
        "major print or broadcast media, with a toll-free number active for at least 90 days.",
        {"regime": REGIME, "individuals": str(facts.insufficient_contact_count)},
    )


def ftc_notice(facts: BreachFacts, discovery: date, due: date) -> Obligation:
    """Notice to the FTC, 16 CFR 318.5(c): with the individual notices, or the annual log."""
    total = facts.affected_total
    if total >= FTC_LARGE_BREACH:
        return Obligation(
            "ftc_notice",
            US,
            due,
            "16 CFR 318.5(c)",
            f"{total} individuals affected, 500 or more: notify the FTC (its breach form) at the "
            "same time as the individual notices, no later than 60 calendar days after "
            "discovery.",
            {"regime": REGIME, "contemporaneous_with": "individual_notice"},
        )
    return Obligation(
        "ftc_annual_log",
        US,
        date(discovery.year, 12, 31) + WINDOW,
        "16 CFR 318.5(c)",
        f"{total} individual(s) affected, fewer than 500: log the breach and submit the log to "
        f"the FTC within 60 calendar days after the end of {discovery.year}.",
        {"regime": REGIME, "reporting_year": str(discovery.year)},
    )


def media_notices(facts: BreachFacts, due: date) -> list[Obligation]:
    """Prominent media, 16 CFR 318.5(b): each State with MORE than 500 residents affected."""
    return [
        Obligation(
            "media_notice",
            state,
            due,
            "16 CFR 318.5(b)",
            f"{count} residents of {state} affected, more than 500: notify prominent media "
            f"outlets serving {state}.",
            {"regime": REGIME, "residents": str(count)},
        )
        for state, count in sorted(facts.residents_by_state.items())
        if count > MEDIA_THRESHOLD
    ]


def vendor_notice(facts: BreachFacts, discovery: date, due: date) -> Obligation:
    """A third party service provider notifies the vendor / PHR related entity, 318.3(b)."""
    return Obligation(
        "vendor_notice",
        US,
        due,
        "16 CFR 318.3(b); 318.4(a)",
        "As third party service provider, notify the vendor of personal health records or PHR "
        "related entity (the official its contract designates, else a senior official) without "
        f"unreasonable delay and no later than 60 calendar days after discovery ({discovery}), "
        "identifying each affected individual, and obtain an acknowledgment of receipt.",
        {"regime": REGIME, "individuals": str(facts.affected_total)},
    )


def _provider_note() -> str:
    return (
        "Third party service provider (16 CFR 318.3(b)): the notices to individuals, the FTC "
        "and the media are the vendor's or PHR related entity's. State statutes generally "
        "oblige a service provider to notify the data owner only; state resident notices are "
        "not computed for this role. Confirm with counsel."
    )


def _timed(obligation: Obligation, delay: DelayWindow | None) -> Obligation:
    # 318.4(c): the law-enforcement delay works as 164.412 does; the same model applies.
    assert obligation.due_on is not None  # every FTC notice has an outer date
    due_on, detail = delayed_due(obligation.due_on, delay)
    if not detail:
        return obligation
    return Obligation(
        obligation.kind,
        obligation.jurisdiction,
        due_on,
        f"{obligation.citation}; 318.4(c)",
        obligation.reason,
        {**obligation.detail, **detail},
    )
