"""The breach risk assessment area (45 CFR 164.402, 164.414(b)).

`questionnaire` (the answer tables, the `Answers` schema, validation and the outcome the answers
support; no session), `scope` (which questions apply given the answers before them),
`recording` (the use cases: versioned saves, signing, the closure basis) and `report` (a
version as the PDF kept for the burden of proof).

The use cases other layers call are re-exported here, so `assessment.save_assessment(...)`
reads as the area's verb.
"""

from __future__ import annotations

from incident_app.services.assessment.recording import closure_basis
from incident_app.services.assessment.recording import save_assessment
from incident_app.services.assessment.recording import sign_version
from incident_app.services.assessment.recording import versions

__all__ = ["closure_basis", "save_assessment", "sign_version", "versions"]
