"""Which row of a new roster version is the same person as a row of the version it replaced,
and what follows the person across a "replace" import besides their enrollment code
(services/enrolment/carry.py): the record of their letters, returned letters and inquiries.

The match is made in the import's final transaction, before the old rows are purged: by the
roster's external-id blind index, else by the identity index (name + date of birth + address),
and only when exactly one kept row of the new import matches. Both indexes are keyed HMACs, so
nothing is decrypted and no PHI is copied: a carried record only gains `later_person_id`, the
new row, and keeps everything else (its own `person_id` is nulled when the old row is purged).
The person page (history.py) shows such records as "from an earlier roster version".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import ReturnedLetter
from incident_app.models.mail_batch import MailLetter
from incident_app.models.roster import RosterPerson
from incident_app.services import audit

CARRIED = (MailLetter, ReturnedLetter, Inquiry)  # records that name a roster row


@dataclass
class NewRows:
    """The kept rows of a new import by blind index (read once per final transaction)."""

    by_external: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_identity: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def same_person(
        self, external: str | None, identity: str | None, taken: set[int] | None = None
    ) -> tuple[int, str] | None:
        """The one new row of this person and how it was matched ("external", "identity");
        None when none or several match (or the one is in `taken`)."""
        for how, index, token in (
            ("external", self.by_external, external),
            ("identity", self.by_identity, identity),
        ):
            found = index.get(token, []) if token else []
            if len(found) == 1 and not (taken and found[0] in taken):
                return found[0], how
        return None


def new_rows(session: Session, import_id: int) -> NewRows:
    rows = NewRows()
    for person_id, external, identity in session.execute(
        sa.select(RosterPerson.id, RosterPerson.external_index, RosterPerson.identity_index).where(
            RosterPerson.import_id == import_id, RosterPerson.duplicate_of_id.is_(None)
        )
    ):
        if external:
            rows.by_external[external].append(person_id)
        if identity:
            rows.by_identity[identity].append(person_id)
    return rows


@dataclass(frozen=True)
class Carried:
    """How many old rows' codes or records followed the person, and how many stayed behind."""

    by_external_id: int
    by_identity: int
    left_behind: int  # left the roster or matched ambiguously: it stays with the old row

    @classmethod
    def record(
        cls,
        session: Session,
        *,
        action: str,
        counts: dict[str, int],
        total: int,
        incident_id: int,
        import_id: int,
        superseded: list[int],
        now: datetime,
        actor_label: str = "worker",
    ) -> Carried:
        """The counts (`counts` by how matched, of `total` old rows) audited as `action`."""
        carried = cls(counts["external"], counts["identity"], total - sum(counts.values()))
        audit.record(
            session,
            actor=None,
            actor_label=actor_label,
            at=now,
            action=action,
            subject_type="roster_import",
            subject_id=import_id,
            incident_id=incident_id,
            details={**asdict(carried), "superseded_imports": superseded},
        )
        return carried


def carry_history(
    session: Session,
    *,
    incident_id: int,
    import_id: int,
    superseded: list[int],
    rows: NewRows,
    now: datetime,
) -> Carried | None:
    """Point the letters, returned letters and inquiries of the superseded imports' rows (and
    those an earlier replace carried to them) at the new row of the same person. Several old
    rows may match one new row (all their records follow it). One audit event with the counts;
    None (and no event) when no old row has a record. Does not commit."""
    if not superseded:
        return None
    old = sa.select(RosterPerson.id).where(RosterPerson.import_id.in_(superseded))
    # Which old rows each column names: updates then touch only records that exist (a first
    # replace has no carried records; most people have no inquiry), not every old row 6 times.
    named = {
        (model, column.key): {
            i
            for i in session.scalars(sa.select(column).where(column.in_(old)).distinct())
            if i is not None
        }
        for model in CARRIED
        for column in (model.person_id, model.later_person_id)
    }
    wanted: set[int] = set().union(*named.values())
    if not wanted:
        return None
    people = session.execute(
        sa.select(RosterPerson.id, RosterPerson.external_index, RosterPerson.identity_index)
        .where(RosterPerson.import_id.in_(superseded))
        .order_by(RosterPerson.id)
    ).all()
    people = [row for row in people if row[0] in wanted]
    moves: dict[int, int] = {}
    counts = {"external": 0, "identity": 0}
    for old_id, external, identity in people:
        match = rows.same_person(external, identity)
        if match is not None:
            moves[old_id] = match[0]
            counts[match[1]] += 1
    for (model, key), ids in named.items():
        batch = [{"b_old": i, "b_new": moves[i]} for i in sorted(ids) if i in moves]
        if batch:
            session.execute(
                sa.update(model.__table__)  # type: ignore[arg-type]
                .where(model.__table__.c[key] == sa.bindparam("b_old"))
                .values(later_person_id=sa.bindparam("b_new")),
                batch,
            )
    return Carried.record(
        session,
        action="roster.history_carried_over",
        counts=counts,
        total=len(people),
        incident_id=incident_id,
        import_id=import_id,
        superseded=superseded,
        now=now,
    )
