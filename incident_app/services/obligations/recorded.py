"""What the engine reads beside an incident's own facts: the organisation's role under the
breach rules, and the dates notices were actually given.

Both are read, never written: a missing settings row means the defaults (a covered entity that
is not a public company), so a page view never creates one. The notice dates come from what
people recorded — a letter marked as sent (models/letter.py NoticeSent) or an initial HHS
annual-log filing (models/hhs_filing.py HhsFiling) — so clocks counted from a real notice
("N business days after notifying the Secretary") move when it is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import rules
from incident_app.models.client import Client
from incident_app.models.client import ClientNotice
from incident_app.models.client import IncidentClient
from incident_app.models.hhs_filing import HhsFiling
from incident_app.models.letter import NoticeSent
from incident_app.models.obligation import Obligation
from incident_app.models.organisation import ORGANISATION_ID
from incident_app.models.organisation import Organisation
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.rules.facts import FTC_ROLES

# Which recorded notices stand for which NoticesSent date. The Secretary is notified either by
# the 500+ notice (164.408(b)) or by the annual-log report (164.408(c)); for an entity under the
# FTC rule (no HIPAA notices) the engine lets the FTC notice stand in for the HHS one, so its
# recorded date does too.
INDIVIDUAL_KINDS = ("individual_notice",)
MEDIA_KINDS = ("media_notice",)
HHS_KINDS = ("hhs_notice", "hhs_annual_log")
FTC_HHS_KINDS = ("ftc_notice", "ftc_annual_log")


@dataclass(frozen=True)
class OrganisationFacts:
    """The organisation settings the rules read (admin settings page)."""

    entity_role: str = "covered_entity"
    public_company: bool = False


DEFAULT_ORGANISATION = OrganisationFacts()


def organisation_facts(session: Session) -> OrganisationFacts:
    """The settings row's role and public-company flag; the defaults when none is stored."""
    org = session.get(Organisation, ORGANISATION_ID)
    if org is None:
        return DEFAULT_ORGANISATION
    return OrganisationFacts(entity_role=org.entity_role, public_company=org.public_company)


def notices_sent(
    session: Session, incident_id: int, *, entity_role: str = "covered_entity"
) -> rules.NoticesSent | None:
    """The earliest recorded date of each notice a state clock can count from, or None when
    nothing is recorded. Notices on obligations that no longer apply still count: the notice
    was given all the same."""
    sent = _earliest_by_kind(session, incident_id)
    hhs_kinds = HHS_KINDS + (FTC_HHS_KINDS if entity_role in FTC_ROLES else ())
    filed = session.scalar(
        sa.select(sa.func.min(HhsFiling.filed_on)).where(HhsFiling.incident_id == incident_id)
    )
    result = rules.NoticesSent(
        individuals_on=_earliest(sent, INDIVIDUAL_KINDS),
        hhs_on=_earliest(sent, hhs_kinds, also=(filed,)),
        media_on=_earliest(sent, MEDIA_KINDS),
    )
    return result if result.dates() else None


def _earliest_by_kind(session: Session, incident_id: int) -> dict[str, date]:
    rows = session.execute(
        sa.select(Obligation.kind, sa.func.min(NoticeSent.sent_on))
        .join(Obligation, Obligation.id == NoticeSent.obligation_id)
        # A delegating client's notices are its own clock (client_facts), not ours.
        .where(NoticeSent.incident_id == incident_id, Obligation.source_key.not_like("client:%"))
        .group_by(Obligation.kind)
    )
    return {kind: day for kind, day in rows}


def _earliest(
    sent: dict[str, date], kinds: Iterable[str], *, also: Iterable[date | None] = ()
) -> date | None:
    days = [sent[kind] for kind in kinds if kind in sent]
    days.extend(day for day in also if day is not None)
    return min(days, default=None)


def client_key(client_id: int) -> str:
    """The source key of a client's obligations (rules.ClientFacts.key)."""
    return f"client:{client_id}"


def client_facts(session: Session, incident_id: int) -> tuple[rules.ClientFacts, ...]:
    """The covered-entity clients the incident names, with their BAA notice clause, by name;
    for a client that delegates individual notice, what its own clock needs: whether we are
    its agent, the day our 164.410 notice was sent to it (the organisation's date), and its
    people per state on the roster (merged duplicates left out)."""
    rows = session.scalars(
        sa.select(Client)
        .join(IncidentClient, IncidentClient.client_id == Client.id)
        .where(IncidentClient.incident_id == incident_id)
        .order_by(Client.name)
    )
    return tuple(_client_facts(session, incident_id, client) for client in rows)


def _client_facts(session: Session, incident_id: int, client: Client) -> rules.ClientFacts:
    facts = rules.ClientFacts(
        key=client_key(client.id),
        name=client.name,
        period_count=client.notice_period_count,
        period_unit=client.notice_period_unit.value if client.notice_period_unit else None,
    )
    if not client.delegates_individual_notice:
        return facts
    residents = _client_residents(session, incident_id, client.id)
    return replace(
        facts,
        delegates=True,
        ba_is_agent=client.business_associate_is_agent,
        notified_on=_client_notified_on(session, incident_id, client.id),
        residents_by_state={state: n for state, n in residents.items() if state},
        affected_total=sum(residents.values()),
    )


def _client_residents(session: Session, incident_id: int, client_id: int) -> dict[str, int]:
    committed = sa.select(RosterImport.id).where(
        RosterImport.incident_id == incident_id, RosterImport.status == ImportStatus.COMMITTED
    )
    rows = session.execute(
        sa.select(RosterPerson.state, sa.func.count())
        .where(
            RosterPerson.import_id.in_(committed),
            RosterPerson.client_id == client_id,
            RosterPerson.duplicate_of_id.is_(None),
        )
        .group_by(RosterPerson.state)
    )
    return {state or "": number for state, number in rows}


def _client_notified_on(session: Session, incident_id: int, client_id: int) -> date | None:
    sent_at = session.scalar(
        sa.select(ClientNotice.sent_at).where(
            ClientNotice.incident_id == incident_id,
            ClientNotice.client_id == client_id,
            ClientNotice.number == 1,
        )
    )
    if sent_at is None:
        return None
    org = session.get(Organisation, ORGANISATION_ID)
    return sent_at.astimezone(ZoneInfo(org.timezone if org else "America/New_York")).date()
