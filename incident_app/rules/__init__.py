"""The functional core: incident facts in, breach determination and obligations out.

Standard library only, no clock and no IO beyond the data table beside the code.
"""

from __future__ import annotations

from incident_app.rules.clients import ClientFacts
from incident_app.rules.engine import evaluate
from incident_app.rules.facts import BreachFacts
from incident_app.rules.facts import BusinessAssociateFacts
from incident_app.rules.facts import GdprFacts
from incident_app.rules.facts import InvalidFacts
from incident_app.rules.facts import LawEnforcementDelay
from incident_app.rules.facts import NoticesSent
from incident_app.rules.outcome import Determination
from incident_app.rules.outcome import Obligation
from incident_app.rules.outcome import to_jsonable

__all__ = [
    "BreachFacts",
    "BusinessAssociateFacts",
    "ClientFacts",
    "Determination",
    "GdprFacts",
    "InvalidFacts",
    "LawEnforcementDelay",
    "NoticesSent",
    "Obligation",
    "evaluate",
    "to_jsonable",
]
