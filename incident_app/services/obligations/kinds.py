"""The one table of obligation kinds: what each kind the rules engine emits is called, what it
means in a sentence, and the body of law it comes from.

Every page, reminder, calendar event, letter list and API answer that names a kind reads it
from here (tests/services/obligations/test_kinds.py checks that every kind the rules package
can emit has a row, and that no row is stale). Tasks and corrective actions are deadlines
too (reminders and the calendar carry them), so their labels live here as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from incident_app.rules.part2 import MIRRORED as PART2_MIRRORED

HIPAA = "HIPAA Breach Notification Rule (45 CFR 164.400-414)"
HIPAA_OR_FTC = (
    "HIPAA Breach Notification Rule (45 CFR 164.400-414), or for PHR vendors the FTC Health "
    "Breach Notification Rule (16 CFR 318)"
)
STATE = "State breach-notification law"
BAA = "Business associate agreement (contract), within 45 CFR 164.410(b)"
FTC = "FTC Health Breach Notification Rule (16 CFR 318)"
GDPR = "EU General Data Protection Regulation (GDPR Art. 33-34)"
SEC = "SEC Form 8-K Item 1.05 (cybersecurity incidents)"
PART2 = "42 CFR Part 2 (substance use disorder records), 42 CFR 2.16"
PART2_PREFIX = "part2_"
TASK_KIND = "task"
ACTION_KIND = "corrective_action"
INQUIRY_KIND = "inquiry_follow_up"
CLIENT_ACK_KIND = "client_acknowledgement"


@dataclass(frozen=True)
class KindInfo:
    """How one kind of obligation is named and explained to a person."""

    label: str
    description: str
    family: str
    portal: bool = False  # filed by typing into a regulator's web form, not sent as a letter


_BASE: dict[str, KindInfo] = {
    "individual_notice": KindInfo(
        "Notice to individuals",
        "Written notice to each affected individual (first-class mail or agreed e-mail).",
        HIPAA_OR_FTC,
    ),
    "substitute_notice": KindInfo(
        "Substitute notice",
        "Web posting or major media notice for individuals who cannot be reached.",
        HIPAA_OR_FTC,
    ),
    "media_notice": KindInfo(
        "Notice to prominent media",
        "Press notice in each state or jurisdiction with more than 500 affected residents.",
        HIPAA_OR_FTC,
    ),
    "hhs_notice": KindInfo(
        "Notice to HHS",
        "Breach report to the Secretary on the OCR portal, with the individual notices.",
        HIPAA,
        portal=True,
    ),
    "hhs_annual_log": KindInfo(
        "HHS annual log",
        "Fewer than 500 individuals: report in the annual log, 60 days after the year ends.",
        HIPAA,
        portal=True,
    ),
    "ba_to_ce_notice": KindInfo(
        "Business associate notice to the covered entity",
        "The business associate tells the covered entity, identifying each individual.",
        HIPAA,
    ),
    "ba_to_ce_contract": KindInfo(
        "Contractual notice to the client",
        "The business associate agreement's own (shorter) notice period to the covered entity.",
        BAA,
    ),
    "state_individual_notice": KindInfo(
        "State notice to residents",
        "Notice to the affected residents that a state statute requires.",
        STATE,
    ),
    "state_regulator_notice": KindInfo(
        "State notice to a regulator",
        "Notice to a state attorney general or other regulator named by the statute.",
        STATE,
    ),
    "cra_notice": KindInfo(
        "Notice to consumer reporting agencies",
        "Notice to the nationwide consumer reporting agencies above the state's threshold.",
        STATE,
    ),
    "ftc_notice": KindInfo(
        "Notice to the FTC",
        "500 or more individuals: the FTC's breach form, with the individual notices.",
        FTC,
        portal=True,
    ),
    "ftc_annual_log": KindInfo(
        "FTC annual log",
        "Fewer than 500 individuals: log and submit to the FTC after the calendar year.",
        FTC,
        portal=True,
    ),
    "vendor_notice": KindInfo(
        "Service provider notice to the PHR vendor",
        "A third party service provider tells the vendor or PHR related entity.",
        FTC,
    ),
    "supervisory_authority_notice": KindInfo(
        "Notice to the supervisory authority",
        "GDPR Art. 33: the competent supervisory authority, within 72 hours of awareness.",
        GDPR,
    ),
    "data_subject_notice": KindInfo(
        "Communication to data subjects",
        "GDPR Art. 34: the data subjects, without undue delay, when the risk is high.",
        GDPR,
    ),
    "processor_to_controller_notice": KindInfo(
        "Processor notice to the controller",
        "GDPR Art. 33(2): the processor tells the controller without undue delay.",
        GDPR,
    ),
    "sec_8k_notice": KindInfo(
        "SEC Form 8-K Item 1.05",
        "Public companies: file a Form 8-K four business days after finding the incident material.",
        SEC,
    ),
}


def _part2(kind: str) -> KindInfo:
    base = _BASE[kind]
    return KindInfo(
        f"Part 2: {base.label[0].lower()}{base.label[1:]}",
        f"The 42 CFR Part 2 counterpart of the HIPAA duty. {base.description}",
        PART2,
        base.portal,
    )


OBLIGATION_KINDS: Mapping[str, KindInfo] = MappingProxyType(
    {**_BASE, **{PART2_PREFIX + kind: _part2(kind) for kind in PART2_MIRRORED}}
)
OTHER_DEADLINE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        TASK_KIND: "Task",
        ACTION_KIND: "Corrective action",
        INQUIRY_KIND: "Inquiry follow-up",
        CLIENT_ACK_KIND: "Client acknowledgement of a notice (45 CFR 164.410)",
    }
)
# Every kind of deadline reminders and the calendar know, with its label.
DEADLINE_LABELS: Mapping[str, str] = MappingProxyType(
    {**{kind: info.label for kind, info in OBLIGATION_KINDS.items()}, **OTHER_DEADLINE_LABELS}
)


# Obligations discharged by a letter or notice that someone drafts (and legal reviews).
LETTER_KINDS = frozenset(kind for kind, item in OBLIGATION_KINDS.items() if not item.portal)


def label(kind: str) -> str:
    """The label of `kind`; an unknown one (a row stored by an older engine) is humanised."""
    return DEADLINE_LABELS.get(kind) or kind.replace("_", " ").capitalize()


def label_with_place(kind: str, jurisdiction: str, detail: Mapping[str, Any] | None = None) -> str:
    """The label people use: a state regulator by its name ("Texas Attorney General", from
    the state table's recipient_name in the obligation's `detail`); otherwise the label with
    the jurisdiction, e.g. "State notice to residents (CA)"; none for US."""
    recipient = _PARENTHESIS.sub("", str((detail or {}).get("recipient_name", ""))).strip()
    if kind == "state_regulator_notice" and recipient:
        return recipient[0].upper() + recipient[1:]
    text = label(kind)
    return f"{text} ({jurisdiction})" if jurisdiction and jurisdiction != "US" else text


# "Texas Attorney General (electronic form)" -> "Texas Attorney General"
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")


def info(kind: str) -> KindInfo:
    """The row for `kind`, or a humanised stand-in for an unknown one."""
    return OBLIGATION_KINDS.get(kind) or KindInfo(label(kind), "", "")
