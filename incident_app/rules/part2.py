"""42 CFR Part 2 (substance use disorder records): breach notification under 42 CFR 2.16(a).

The 2024 final rule (89 FR 12472, effective 2024-04-16, compliance date 2026-02-16) makes the
HIPAA breach notification provisions, 45 CFR 164.400-414, apply to Part 2 programs for breaches
of unsecured Part 2 records in the same manner as they apply to a covered entity's breaches of
unsecured PHI. Sources this session [S]: REGULATORY.md §5 (AZSHA, Perea, Mondaq summaries) and
§2 (OCR portal text [V]: since 2026-02-16 the OCR breach portal has a separate Part 2 filing path
and listing; a breach that is both PHI and Part 2 is reported twice); cybersecuritylawfundamentals
.com chapter 3 update (42 U.S.C. 290dd-2). The text of 42 CFR 2.16 itself was not found in the
stored sources: https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2/section-2.16.

Design: every Part 2 duty is its own obligation, kind ``part2_<hipaa kind>``, cited to
"42 CFR 2.16(a)" together with the 164.4xx paragraph it applies, so the officer sees (and
records as sent) the separate Part 2 report to OCR beside the HIPAA one. Dates are the HIPAA
ones (same discovery, same 164.412 delay). The individual letter may be one letter serving both
rules when it carries the 164.404(c) content: the detail says so.
"""

from __future__ import annotations

from datetime import date

from incident_app.rules.outcome import Obligation

COMPLIANCE_DATE = date(2026, 2, 16)
CITATION = "42 CFR 2.16(a)"
MIRRORED = (
    "individual_notice",
    "substitute_notice",
    "hhs_notice",
    "hhs_annual_log",
    "media_notice",
)


def part2_obligations(
    hipaa: list[Obligation], discovery: date
) -> tuple[list[Obligation], list[str]]:
    """The Part 2 mirror of the HIPAA notices, or a warning before the compliance date."""
    if discovery < COMPLIANCE_DATE:
        return [], [
            f"42 CFR Part 2 records are involved, but the breach was discovered on {discovery}, "
            f"before the 2024 final rule's compliance date ({COMPLIANCE_DATE}): 42 CFR 2.16 "
            "does not yet require breach notification. Part 2's confidentiality rules still "
            "apply; confirm with counsel."
        ]
    return [_mirror(item) for item in hipaa if item.kind in MIRRORED], []


def _mirror(obligation: Obligation) -> Obligation:
    detail = {
        **obligation.detail,
        "regime": "42 CFR Part 2 (substance use disorder records)",
        "mirrors": obligation.kind,
        "applies": f"{obligation.citation} through {CITATION}",
        "confidence": "[S]",
    }
    if obligation.kind in ("hhs_notice", "hhs_annual_log"):
        detail["filing"] = (
            "separate Part 2 breach report on the OCR portal, in addition to any HIPAA report"
        )
    if obligation.kind == "individual_notice":
        detail["letter"] = (
            "one letter may serve both rules if it carries the 164.404(c) content; record it "
            "as sent for both obligations"
        )
    return Obligation(
        f"part2_{obligation.kind}",
        obligation.jurisdiction,
        obligation.due_on,
        f"{CITATION}; {obligation.citation}",
        f"42 CFR Part 2 records: {obligation.reason}",
        detail,
    )
