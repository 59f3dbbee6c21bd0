"""Planning a mailing: who on the roster gets which letter by which route, decided from the
roster's clear flags (no PHI is decrypted to plan), which approved letters that needs, and how
the plan is frozen into a batch's chunks (one `Entry` per person, in letter order).

Routes: a letter by first-class mail (adult, parent or guardian of a minor, next of kin of a
deceased person, Spanish), an email notice for people who agreed to electronic notice when the
organisation enables it, substitute notice for living people without a sufficient address,
nothing for a deceased person without a next-of-kin address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Literal
from typing import NamedTuple
from typing import NotRequired
from typing import Protocol
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.models.client import Client
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import Route
from incident_app.models.mail_batch import Variant
from incident_app.models.obligation import Obligation
from incident_app.models.roster import AddressStatus
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.services.letters import context as letter_context
from incident_app.services.letters import review as letter_review
from incident_app.services.letters.approved import ApprovedLetter
from incident_app.services.letters.approved import approved_letter
from incident_app.services.letters.approved import client_letters
from incident_app.services.roster import access as roster_access

KIND = "individual_notice"

# ---- routes ---------------------------------------------------------------------------------


class RoutingFlags(Protocol):
    """The clear roster columns a route is decided from (a RosterPerson or a selected row)."""

    @property
    def deceased(self) -> bool: ...
    @property
    def nok_address(self) -> bool: ...
    @property
    def email_consent(self) -> bool: ...
    @property
    def minor(self) -> bool: ...
    @property
    def address_status(self) -> AddressStatus: ...
    @property
    def language(self) -> str: ...


class Routed(NamedTuple):
    """One person who gets a letter or an email notice."""

    person_id: int
    route: Route
    variant: Variant | None


@dataclass
class Plan:
    """Who gets what, from the roster's clear flags (no PHI is decrypted to plan)."""

    routed: list[Routed] = field(default_factory=list)
    substitute: list[int] = field(default_factory=list)
    no_contact: list[int] = field(default_factory=list)

    def count(self, variant: Variant) -> int:
        return sum(1 for _, _, v in self.routed if v is variant)

    def mailed(self, variant: Variant) -> int:
        return sum(1 for _, r, v in self.routed if v is variant and r is Route.MAIL)

    @property
    def email(self) -> int:
        return sum(1 for _, route, _ in self.routed if route is Route.EMAIL)

    @property
    def mail(self) -> int:
        return len(self.routed) - self.email

    @property
    def variants(self) -> list[Variant]:
        return [v for v in Variant if self.count(v)]


def route_of(
    person: RoutingFlags, *, email_enabled: bool
) -> tuple[Route, Variant] | Literal["substitute", "no_contact"]:
    """The route and letter for one person, or why nobody can be written to.

    A deceased person's letter goes to the next of kin (164.404(d)(1)(ii)) and needs their
    address; without it no substitute notice is owed. A minor's letter goes to the parent or
    guardian (the roster marks the address sufficient when the guardian's is). Email is used
    only for living adults who agreed to it (164.404(d)(1)(i)).
    """
    if person.deceased:
        return (Route.MAIL, Variant.DECEASED) if person.nok_address else "no_contact"
    if email_enabled and person.email_consent and not person.minor:
        return Route.EMAIL, Variant.SPANISH if person.language == "es" else Variant.ADULT
    if person.address_status is not AddressStatus.SUFFICIENT:
        return "substitute"
    if person.minor:
        return Route.MAIL, Variant.MINOR
    return Route.MAIL, Variant.SPANISH if person.language == "es" else Variant.ADULT


def plan(
    session: Session, incident_id: int, *, email_enabled: bool, client_id: int | None = None
) -> Plan:
    """Everyone on the roster still waiting for a notice (merged duplicates excluded): the
    people of one delegating client (`client_id`, business-associate mode), or everyone else."""
    result = Plan()
    people = session.execute(
        sa.select(
            RosterPerson.id,
            RosterPerson.deceased,
            RosterPerson.nok_address,
            RosterPerson.email_consent,
            RosterPerson.minor,
            RosterPerson.address_status,
            RosterPerson.language,
        )
        .where(
            RosterPerson.import_id.in_(roster_access.committed_import_ids(session, incident_id)),
            RosterPerson.duplicate_of_id.is_(None),
            RosterPerson.notice_status == NoticeStatus.PENDING,
            client_scope(client_id),
        )
        .order_by(RosterPerson.id)
    )
    for person in people:
        outcome = route_of(person, email_enabled=email_enabled)
        if outcome == "substitute":
            result.substitute.append(person.id)
        elif outcome == "no_contact":
            result.no_contact.append(person.id)
        else:
            route, variant = outcome
            result.routed.append(Routed(person.id, route, variant))
    return result


def client_scope(client_id: int | None) -> sa.ColumnElement[bool]:
    """One delegating client's people, or (None) everyone but the delegating clients' people,
    who are mailed in their client's own batch, on its letterhead."""
    if client_id is not None:
        return RosterPerson.client_id == client_id
    delegating = sa.select(Client.id).where(Client.delegates_individual_notice)
    return sa.or_(RosterPerson.client_id.is_(None), RosterPerson.client_id.not_in(delegating))


# ---- approvals ------------------------------------------------------------------------------


class ApprovedVariant(TypedDict):
    """What a batch records of one variant's approval (MailBatch.variants[variant])."""

    letter_id: int
    version_id: int
    template_name: str
    template_version: str
    sample_sha256: str
    # The approved template files kept in the store (snapshots.py); absent in batches started
    # before issue 20's snapshots, which render from disk.
    template_files: NotRequired[dict[str, str]]


def approval(
    session: Session,
    incident_id: int,
    variant: Variant,
    client_key: str | None = None,
    printed_from: str | None = None,
) -> ApprovedLetter | None:
    """The variant's approved, still-valid individual notice (the client's own, on its
    letterhead, with `client_key`), or None. `printed_from`: the template version a batch
    prints it from (its snapshot), checked instead of the files on disk."""
    return approved_letter(
        session,
        incident_id=incident_id,
        kind=KIND,
        template_name=variant.template_name,
        client_key=client_key,
        printed_from=printed_from,
    )


def why_not_approved(
    session: Session,
    incident_id: int,
    variant: Variant,
    client_key: str | None = None,
    printed_from: str | None = None,
) -> str:
    """A sentence saying why `variant` has no usable approval (`printed_from`: see approval)."""
    label = letter_context.TEMPLATE_LABELS[variant.template_name]
    letter = session.scalar(
        sa.select(Letter)
        .join(Obligation, Obligation.id == Letter.obligation_id)
        .where(
            Letter.incident_id == incident_id,
            Letter.kind == KIND,
            Letter.template_name == variant.template_name,
            client_letters(client_key),
        )
    )
    if letter is None:
        return f"{label}: not generated yet (Letters tab)."
    if letter.status not in (LetterStatus.APPROVED, LetterStatus.SENT):
        return f"{label}: {letter.status.label.lower()}, not approved by legal."
    state = letter_review.freshness(session, letter, printed_from=printed_from)
    reasons = " ".join(state.reasons) or "A newer version replaced the approved one."
    return f"{label}: the approval is void. {reasons}"


def usable_approvals(
    session: Session, incident_id: int, planned: Plan, client_key: str | None = None
) -> dict[Variant, ApprovedLetter]:
    """The approved, still-valid letters of the variants the plan needs (the adult notice
    when nobody needs a letter); InvalidTransition, with each variant's reason, when none is."""
    # The adult notice stands for the batch when nobody needs a letter (substitute notice only).
    needed = planned.variants or [Variant.ADULT]
    approvals = {v: approval(session, incident_id, v, client_key) for v in needed}
    usable = {v: a for v, a in approvals.items() if a is not None}
    if not usable:
        raise InvalidTransition(
            "A mailing starts only from letters legal approved and nothing changed since. "
            + " ".join(
                _need(planned, v) + why_not_approved(session, incident_id, v, client_key)
                for v in needed
            )
        )
    return usable


def covered(planned: Plan, approvals: Mapping[Variant, object]) -> Plan:
    """The part of the plan a batch covers: people whose variant is approved (email and
    mail), and the substitute-notice and no-contact people (who need no letter)."""
    return Plan(
        routed=[r for r in planned.routed if r.variant in approvals],
        substitute=planned.substitute,
        no_contact=planned.no_contact,
    )


def _need(planned: Plan, variant: Variant) -> str:
    count = planned.count(variant)
    return f"({count:,} recipient{'s' if count != 1 else ''} need it) " if count else ""


# ---- the frozen plan: chunks ----------------------------------------------------------------
#
# MailChunk.people stores one JSON row per person: [sequence, person_id, route, variant or ""].


class Entry(NamedTuple):
    """One person in a chunk, in letter order."""

    sequence: int
    person_id: int
    route: Route
    variant: Variant | None


def chunk_row(
    sequence: int, person_id: int | None, route: Route, variant: Variant | None
) -> list[int | str | None]:
    """One person as MailChunk.people stores it."""
    return [sequence, person_id, route.value, variant.value if variant else ""]


def entries(chunk: MailChunk | None) -> list[Entry]:
    """The chunk's people in letter order (none without a chunk)."""
    if chunk is None:
        return []
    return [
        Entry(sequence, pid, Route(route), Variant(variant) if variant else None)
        for sequence, pid, route, variant in chunk.people
    ]


def letter_code(reference: str, batch_id: int, sequence: int) -> str:
    """The letter id printed on a letter and listed in the manifest."""
    return f"{reference}-M{batch_id}-{sequence:06d}"
