"""GDPR Art. 33 and 34: personal data breaches affecting EU/EEA data subjects.

Verified this session [V] against stored copies of the Regulation (EU) 2016/679 text
(commonaccord.org's GDPR source, legiscope.com's EUR-Lex extract, overview.legal and gdprhub.eu
for Art. 34), https://eur-lex.europa.eu/eli/reg/2016/679/oj:

- Art. 33(1): the controller notifies the competent supervisory authority without undue delay
  and, where feasible, not later than 72 hours after having become aware of the breach, unless
  it is unlikely to result in a risk to the rights and freedoms of natural persons; a
  notification made after 72 hours must be accompanied by reasons for the delay.
- Art. 33(2): a processor notifies the controller without undue delay after becoming aware.
- Art. 33(4): information may be provided in phases; 33(5): every breach is documented.
- Art. 34(1): when the breach is likely to result in a HIGH risk, the controller communicates
  it to the data subject without undue delay; 34(3) lists three conditions under which that
  communication is not required (protection such as encryption applied to the data, subsequent
  measures removing the high risk, disproportionate effort -> public communication instead).

The 72 hours are counted in hours from ``aware_at``, in UTC; ``due_on`` is the UTC date of that
instant. "Without undue delay" has no computable date: those obligations carry ``due_on=None``.
"""

from __future__ import annotations

from datetime import UTC
from datetime import timedelta

from incident_app.rules.facts import GdprFacts
from incident_app.rules.outcome import Obligation

EU = "EU"  # the EU/EEA; the competent authority is chosen under Art. 55/56 (lead authority)
SA_WINDOW = timedelta(hours=72)  # Art. 33(1)
ART_34_3 = (
    "Art. 34(3): not required if (a) protection such as encryption made the data "
    "unintelligible to unauthorised persons, (b) later measures mean the high risk is no longer "
    "likely to materialise, or (c) it would take disproportionate effort (then a public "
    "communication instead)."
)


def gdpr_obligations(gdpr: GdprFacts) -> tuple[list[Obligation], list[str]]:
    """The Art. 33/34 obligations and the warnings about open GDPR questions."""
    if not gdpr.controller:
        return [processor_notice(gdpr)], []
    obligations = [supervisory_authority_notice(gdpr)]
    warnings = []
    if gdpr.high_risk is None:
        warnings.append(
            f"GDPR Art. 34: the high-risk assessment for the {gdpr.data_subjects} EU/EEA data "
            "subject(s) is outstanding. If the breach is likely to result in a high risk to "
            "their rights and freedoms, they must be told without undue delay; record the "
            "assessment."
        )
    elif gdpr.high_risk:
        obligations.append(data_subject_notice(gdpr))
    else:
        warnings.append(
            "GDPR Art. 34: assessed as not likely to result in a high risk, so no communication "
            "to data subjects is required; the supervisory authority may still require one "
            "(Art. 34(4)). Document the assessment (Art. 33(5))."
        )
    return obligations, warnings


def supervisory_authority_notice(gdpr: GdprFacts) -> Obligation:
    """Notice to the supervisory authority, GDPR Art. 33(1): awareness + 72 hours (UTC)."""
    aware = gdpr.aware_at.astimezone(UTC)
    due_at = aware + SA_WINDOW
    return Obligation(
        "supervisory_authority_notice",
        EU,
        due_at.date(),
        "GDPR Art. 33(1)",
        f"{gdpr.data_subjects} EU/EEA data subject(s) affected: notify the competent "
        "supervisory authority without undue delay and, where feasible, within 72 hours of "
        f"becoming aware ({aware.isoformat()}), i.e. by {due_at.isoformat()}.",
        {
            "aware_at": aware.isoformat(),
            "clock": "72 hours from awareness, counted in hours (UTC)",
            "late_notice": "a notification after 72 hours must give the reasons for the delay "
            "(Art. 33(1))",
            "exemption": "not required if the breach is unlikely to result in a risk to the "
            "rights and freedoms of natural persons; document that assessment (Art. 33(5))",
            "phased": "information not yet available may follow in phases (Art. 33(4))",
            "data_subjects": str(gdpr.data_subjects),
        },
        due_at=due_at,
    )


def processor_notice(gdpr: GdprFacts) -> Obligation:
    """A processor notifies the controller, GDPR Art. 33(2): without undue delay, no 72 hours."""
    aware = gdpr.aware_at.astimezone(UTC)
    return Obligation(
        "processor_to_controller_notice",
        EU,
        None,
        "GDPR Art. 33(2)",
        f"As processor, notify the controller without undue delay after becoming aware "
        f"({aware.isoformat()}); the controller's own 72-hour clock (Art. 33(1)) runs from "
        "its awareness, so every hour counts.",
        {
            "aware_at": aware.isoformat(),
            "clock": "without undue delay: the Regulation sets no number of hours",
            "data_subjects": str(gdpr.data_subjects),
        },
    )


def data_subject_notice(gdpr: GdprFacts) -> Obligation:
    """Communication to the data subjects, GDPR Art. 34(1): without undue delay (high risk)."""
    return Obligation(
        "data_subject_notice",
        EU,
        None,
        "GDPR Art. 34(1)",
        f"The breach is likely to result in a high risk: tell the {gdpr.data_subjects} EU/EEA "
        "data subject(s) without undue delay, in clear and plain language.",
        {
            "clock": "without undue delay: the Regulation sets no number of days",
            "content": "nature of the breach, and the items of Art. 33(3)(b)-(d): contact "
            "point, likely consequences, measures taken or proposed (Art. 34(2))",
            "exceptions": ART_34_3,
            "data_subjects": str(gdpr.data_subjects),
        },
    )
