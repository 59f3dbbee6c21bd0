"""Business-associate mode: the notice to each covered-entity client, 45 CFR 164.410, beside
the shorter deadline its business associate agreement may set.

The statute: "without unreasonable delay and in no case later than 60 calendar days after
discovery of a breach" (164.410(b)), counted from the business associate's own discovery.
A BAA commonly shortens that ("5 business days after discovery"); the contract can only make
the deadline earlier, never later (REGULATORY.md §1.8), so a contractual period that ends after
the statutory date is capped at it, with a warning. The earlier of the two is the one to meet;
both are returned so both are shown and reminded.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import date
from datetime import timedelta

from incident_app.rules.delay import delayed_due
from incident_app.rules.facts import BreachFacts
from incident_app.rules.facts import BusinessAssociateFacts
from incident_app.rules.facts import InvalidFacts
from incident_app.rules.hipaa import NOTICE_WINDOW
from incident_app.rules.hipaa import Clock
from incident_app.rules.holiday_calendar import add_business_days
from incident_app.rules.outcome import US
from incident_app.rules.outcome import Determination
from incident_app.rules.outcome import Obligation

STATUTE = "45 CFR 164.410(b)"
PERIOD_UNITS = ("calendar_days", "business_days")
# Business days of a contract clause: weekends and US federal holidays are skipped (the BAA
# names no state, so the federal calendar, 5 U.S.C. 6103, is the neutral reading).
BUSINESS_CALENDAR = "US"


@dataclass(frozen=True)
class ClientFacts:
    """One covered-entity client whose PHI the breach touched.

    ``key`` identifies the client across recomputations (it becomes the stored obligation's
    source key); ``period_count``/``period_unit`` are the BAA's notice clause, both None when
    the agreement sets no period of its own.
    """

    key: str
    name: str
    period_count: int | None = None
    period_unit: str | None = None
    # The client delegates individual notice to us: its own notices (164.404-164.408 and the
    # state laws) are computed for it from its treated discovery date (rules.discovery), with
    # ``ba_is_agent`` (None: undetermined), the date our 164.410 notice reached it and its own
    # people per state.
    delegates: bool = False
    ba_is_agent: bool | None = None
    notified_on: date | None = None
    residents_by_state: Mapping[str, int] = field(default_factory=dict)
    affected_total: int = 0

    def __post_init__(self) -> None:
        if not self.key or not self.name:
            raise InvalidFacts("clients", "each client needs a key and a name")
        if (self.period_count is None) != (self.period_unit is None):
            raise InvalidFacts(
                "clients.period", f"{self.name}: give both the number and the unit, or neither"
            )
        if self.period_unit is not None and self.period_unit not in PERIOD_UNITS:
            raise InvalidFacts(
                "clients.period", f"{self.name}: unit must be one of {', '.join(PERIOD_UNITS)}"
            )
        count = self.period_count
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise InvalidFacts("clients.period", f"{self.name}: the number must be whole")
        if count is not None and count < 1:
            raise InvalidFacts("clients.period", f"{self.name}: the period must be at least 1")
        if self.affected_total < sum(self.residents_by_state.values()):
            raise InvalidFacts(
                "clients.affected_total", f"{self.name}: fewer people than its residents per state"
            )

    @property
    def period_label(self) -> str:
        unit = (self.period_unit or "").replace("_", " ")
        return f"{self.period_count} {unit} after discovery"


def client_notices(
    clock: Clock, clients: Sequence[ClientFacts]
) -> tuple[list[Obligation], list[str]]:
    """For each client: the 164.410(b) notice and, when its BAA sets one, the contractual
    deadline; with a warning for every contractual period that the statute overrides."""
    obligations: list[Obligation] = []
    warnings: list[str] = []
    for client in clients:
        found, notes = _for_client(clock, client)
        obligations.extend(found)
        warnings.extend(notes)
    return obligations, warnings


def _for_client(clock: Clock, client: ClientFacts) -> tuple[list[Obligation], list[str]]:
    statutory_raw = clock.discovery + NOTICE_WINDOW
    # 164.412 delays every 164.410 notice; a contract cannot oblige a business associate to
    # give a notice that law enforcement has told it to withhold, so both move with the delay.
    statutory, delay_detail = delayed_due(statutory_raw, clock.delay)
    base = {"client_key": client.key, "client": client.name, **delay_detail}
    base["business_associate_discovered_on"] = clock.discovery.isoformat()
    if client.period_count is None:
        return [_statutory(client, statutory, {**base, "binding": "statute"})], []
    contractual_raw = _contract_end(clock.discovery, client)
    notes: list[str] = []
    capped = contractual_raw > statutory_raw
    if capped:
        notes.append(_capped_warning(client, contractual_raw, statutory_raw))
    contractual, _ = delayed_due(min(contractual_raw, statutory_raw), clock.delay)
    binding = "contract" if contractual < statutory else "statute"
    contract_detail = {
        **base,
        "binding": binding,
        "period": client.period_label,
        "contract_end_on": contractual_raw.isoformat(),
        "statutory_due_on": statutory.isoformat(),
    }
    if capped:
        contract_detail["capped_by_statute"] = "yes"
    statute_detail = {**base, "binding": binding, "contract_due_on": contractual.isoformat()}
    return [
        _statutory(client, statutory, statute_detail),
        _contractual(client, contractual, contract_detail),
    ], notes


def _contract_end(discovery: date, client: ClientFacts) -> date:
    count = client.period_count or 0
    if client.period_unit == "business_days":
        return add_business_days(discovery, count, BUSINESS_CALENDAR)
    return discovery + timedelta(days=count)


def _statutory(client: ClientFacts, due_on: date, detail: dict[str, str]) -> Obligation:
    return Obligation(
        "ba_to_ce_notice",
        US,
        due_on,
        STATUTE,
        f"Notify {client.name} (a covered entity whose PHI we hold as its business associate) "
        "without unreasonable delay and no later than 60 calendar days after our discovery, "
        "identifying each affected individual (164.410(b), (c)(1)).",
        detail,
    )


def _contractual(client: ClientFacts, due_on: date, detail: dict[str, str]) -> Obligation:
    return Obligation(
        "ba_to_ce_contract",
        US,
        due_on,
        f"Business associate agreement with {client.name}",
        f"The business associate agreement with {client.name} requires notice "
        f"{client.period_label}; the earlier of this date and the 164.410(b) date must be met.",
        detail,
    )


def _capped_warning(client: ClientFacts, contract_end: date, statutory: date) -> str:
    return (
        f"{client.name}: the business associate agreement's period ({client.period_label}, "
        f"ending {contract_end}) is longer than 45 CFR 164.410(b) allows. The statute wins: "
        f"notice is due by {statutory} (60 days after discovery) whatever the contract says."
    )


# The covered entity's own notices that a delegating client hands to us (45 CFR 164.404,
# 164.406, 164.408; the state laws' individual and regulator notices come with them).
DELEGATED_KINDS = frozenset(
    {"individual_notice", "substitute_notice", "media_notice", "hhs_notice", "hhs_annual_log"}
)


def delegated_notices(
    facts: BreachFacts,
    ba_discovered_on: date,
    clients: Sequence[ClientFacts],
    evaluate: Callable[[BreachFacts], Determination],
) -> tuple[list[Obligation], list[str]]:
    """For each client that delegates individual notice: ITS obligations, as a covered entity
    whose business associate (we) discovered the breach on ``ba_discovered_on``, counted from
    its treated discovery date (our discovery when we are its agent, else the day our
    164.410 notice reached it; rules.discovery) and its own people per state. The breach
    facts (reportability, PHI secured, law-enforcement delay) are ours; the counts are its."""
    obligations: list[Obligation] = []
    warnings: list[str] = []
    for client in clients:
        if not client.delegates:
            continue
        own = evaluate(_as_covered_entity(facts, ba_discovered_on, client))
        obligations.extend(
            _for_client_of(client, own) for own in own.obligations if _delegated(own)
        )
        warnings.extend(
            f"{client.name}: {note}"
            for note in own.warnings
            if note.startswith("Treated discovery")
        )
    return obligations, warnings


def _as_covered_entity(
    facts: BreachFacts, ba_discovered_on: date, client: ClientFacts
) -> BreachFacts:
    return replace(
        facts,
        discovered_on=None,
        affected_total=client.affected_total,
        residents_by_state=dict(client.residents_by_state),
        insufficient_contact_count=min(facts.insufficient_contact_count, client.affected_total),
        business_associate=BusinessAssociateFacts(
            ba_discovered_on, client.ba_is_agent, client.notified_on
        ),
        entity_role="covered_entity",
        notices_sent=None,
        gdpr=None,
        materiality_determined_on=None,
    )


def _delegated(item: Obligation) -> bool:
    return item.kind in DELEGATED_KINDS or item.kind.startswith("state_")


def _for_client_of(client: ClientFacts, item: Obligation) -> Obligation:
    # A state can require two notices of one kind: its statute keeps them apart.
    key = client.key if item.kind in DELEGATED_KINDS else f"{client.key} {item.citation}"[:200]
    return replace(
        item,
        reason=f"On behalf of {client.name}, which delegates individual notice to us: "
        f"{item.reason}",
        detail={**item.detail, "client_key": key, "client": client.name, "delegated": "yes"},
    )
