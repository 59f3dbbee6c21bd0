"""The HIPAA Breach Notification Rule, 45 CFR 164.400-414: one function per obligation.

Every date is an outer limit: each notice is due "without unreasonable delay and in no case
later than" the date computed here. The trigger day is day 0 and nothing rolls forward past a
weekend or holiday (REGULATORY.md §1.11).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from incident_app.rules.delay import DelayWindow
from incident_app.rules.delay import delayed_due
from incident_app.rules.facts import EXCEPTIONS
from incident_app.rules.facts import BreachFacts
from incident_app.rules.outcome import US
from incident_app.rules.outcome import Obligation

NOTICE_WINDOW = timedelta(days=60)  # "60 calendar days after discovery", 164.404(b)
HHS_LARGE_BREACH = 500  # "500 or more individuals", 164.408(b)
MEDIA_THRESHOLD = 500  # "more than 500 residents of a State or jurisdiction", 164.406(a)
CONSPICUOUS_SUBSTITUTE_AT = 10  # "10 or more individuals", 164.404(d)(2)(ii)

EXCEPTION_TEXT = {
    "unintentional_workforce_use": "unintentional, good-faith access or use by a workforce "
    "member or person acting under the entity's authority",
    "inadvertent_authorized_disclosure": "inadvertent disclosure between persons authorized "
    "to access PHI at the same entity or organized health care arrangement",
    "unable_to_retain": "a good-faith belief that the unauthorized recipient could not "
    "reasonably have retained the information",
}


@dataclass(frozen=True)
class Clock:
    """What every HIPAA deadline is computed from."""

    facts: BreachFacts
    discovery: date
    delay: DelayWindow | None


def reportability(facts: BreachFacts) -> tuple[bool, str]:
    """Whether the incident is a reportable breach of unsecured PHI, and which test decided.

    45 CFR 164.402: secured PHI is outside the rule, the three exceptions are not breaches, and
    anything else is presumed a breach unless a documented risk assessment shows a low
    probability of compromise.
    """
    reasons = []
    if facts.phi_secured:
        reasons.append(
            "the PHI was secured (rendered unusable, unreadable or indecipherable per HHS "
            "guidance), and notice is required only for unsecured PHI (45 CFR 164.402, "
            "164.404(a))"
        )
    if facts.exception is not None:
        reasons.append(
            f"the exception in {EXCEPTIONS[facts.exception]} applies: "
            f"{EXCEPTION_TEXT[facts.exception]}"
        )
    if facts.low_probability_of_compromise:
        reasons.append(
            "a documented four-factor risk assessment shows a low probability that the PHI "
            "has been compromised (45 CFR 164.402(2))"
        )
    if reasons:
        return False, "Not a reportable breach: " + "; ".join(reasons) + "."
    return True, (
        "Presumed breach of unsecured PHI (45 CFR 164.402(2)): the PHI was not secured, no "
        "exception applies, and no documented risk assessment shows a low probability of "
        "compromise."
    )


def hipaa_obligations(clock: Clock) -> list[Obligation]:
    """Every HIPAA notice the facts call for, in the order a responder works through them."""
    obligations = [individual_notice(clock)]
    substitute = substitute_notice(clock)
    if substitute is not None:
        obligations.append(substitute)
    obligations.append(hhs_notice(clock))
    obligations.extend(media_notices(clock))
    ba_notice = ba_to_ce_notice(clock)
    if ba_notice is not None:
        obligations.append(ba_notice)
    return obligations


def individual_notice(clock: Clock) -> Obligation:
    """Notice to each affected individual, 45 CFR 164.404(b): discovery + 60 calendar days."""
    return _delayable(
        clock,
        "individual_notice",
        US,
        clock.discovery + NOTICE_WINDOW,
        "45 CFR 164.404(b)",
        f"Notify each of the {clock.facts.affected_total} affected individuals without "
        f"unreasonable delay and no later than 60 calendar days after discovery "
        f"({clock.discovery} is day 0).",
        {"method": "first-class mail, or e-mail if the individual agreed (164.404(d)(1))"},
    )


def substitute_notice(clock: Clock) -> Obligation | None:
    """Substitute notice for living individuals without usable contact data, 164.404(d)(2).

    The deceased are excluded (164.404(d)(2)); BreachFacts counts living individuals only.
    """
    count = clock.facts.insufficient_contact_count
    if count == 0:
        return None
    if count < CONSPICUOUS_SUBSTITUTE_AT:
        citation, method = "45 CFR 164.404(d)(2)(i)", "alternative"
        how = "an alternative form of written notice, telephone, or other means"
    else:
        citation, method = "45 CFR 164.404(d)(2)(ii)", "conspicuous"
        how = (
            "a conspicuous 90-day posting on the home page of the web site or conspicuous "
            "notice in major print or broadcast media where they likely reside, with a "
            "toll-free number active for at least 90 days"
        )
    detail = {"method": method, "individuals": str(count), "options": how}
    if method == "conspicuous":
        # The rule does not say whether the first posting day counts; take-down no earlier
        # than start + 90 days (REGULATORY.md §1.5 and §7 item 7).
        detail["posting_days"] = detail["toll_free_days"] = "90"
    return _delayable(
        clock,
        "substitute_notice",
        US,
        clock.discovery + NOTICE_WINDOW,
        citation,
        f"{count} living individual(s) have insufficient or out-of-date contact information: "
        f"provide substitute notice by {how}.",
        detail,
    )


def hhs_notice(clock: Clock) -> Obligation:
    """Notice to the Secretary, 45 CFR 164.408.

    500 or more individuals: contemporaneously with individual notice (164.408(b)). Fewer
    than 500: in the annual log, within 60 days after the end of the calendar year of
    discovery (164.408(c)) - Feb 29 when the following year is a leap year, else Mar 1.
    """
    total = clock.facts.affected_total
    if total >= HHS_LARGE_BREACH:
        return _delayable(
            clock,
            "hhs_notice",
            US,
            clock.discovery + NOTICE_WINDOW,
            "45 CFR 164.408(b)",
            f"{total} individuals affected, 500 or more: notify the Secretary through the OCR "
            "breach portal contemporaneously with the individual notices.",
            {"contemporaneous_with": "individual_notice"},
        )
    year_end = date(clock.discovery.year, 12, 31)
    return _delayable(
        clock,
        "hhs_annual_log",
        US,
        year_end + NOTICE_WINDOW,
        "45 CFR 164.408(c)",
        f"{total} individual(s) affected, fewer than 500: log the breach and report it to the "
        f"Secretary within 60 days after the end of {clock.discovery.year}, the year of "
        "discovery (earlier filing is allowed).",
        {"reporting_year": str(clock.discovery.year)},
    )


def media_notices(clock: Clock) -> list[Obligation]:
    """Notice to prominent media, 45 CFR 164.406: one per State with MORE than 500 residents."""
    return [
        _delayable(
            clock,
            "media_notice",
            state,
            clock.discovery + NOTICE_WINDOW,
            "45 CFR 164.406",
            f"{count} residents of {state} affected, more than 500: notify prominent media "
            f"outlets serving {state}, in addition to the individual notices.",
            {"residents": str(count)},
        )
        for state, count in sorted(clock.facts.residents_by_state.items())
        if count > MEDIA_THRESHOLD
    ]


def ba_to_ce_notice(clock: Clock) -> Obligation | None:
    """Business associate to covered entity, 45 CFR 164.410(b): BA discovery + 60 days."""
    ba = clock.facts.business_associate
    if ba is None:
        return None
    detail = {"business_associate_discovered_on": ba.discovered_on.isoformat()}
    if ba.notified_covered_entity_on is not None:
        detail["notified_covered_entity_on"] = ba.notified_covered_entity_on.isoformat()
    return _delayable(
        clock,
        "ba_to_ce_notice",
        US,
        ba.discovered_on + NOTICE_WINDOW,
        "45 CFR 164.410(b)",
        "The business associate must notify the covered entity, identifying each affected "
        f"individual, no later than 60 calendar days after its own discovery "
        f"({ba.discovered_on}); a BAA may set a shorter period.",
        detail,
    )


def _delayable(
    clock: Clock,
    kind: str,
    jurisdiction: str,
    original: date,
    citation: str,
    reason: str,
    detail: dict[str, str],
) -> Obligation:
    # 164.412 delays every notice under 164.404, 164.406, 164.408 and 164.410.
    due_on, delay_detail = delayed_due(original, clock.delay)
    return Obligation(kind, jurisdiction, due_on, citation, reason, {**detail, **delay_detail})
