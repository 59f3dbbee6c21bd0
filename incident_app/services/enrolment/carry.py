"""Enrollment codes follow the individual across a roster "replace" import.

A replace import stages every person as a new row and supersedes the old ones, so without this
the same people would get new codes at the next mailing while their printed codes stayed taken
by rows about to be purged. When the import commits (roster worker, in its final transaction)
each code assigned to a row of the superseded imports moves to the new row of the same person:
matched by the roster's external-id blind index, else by the identity index (name + date of
birth + address), and only when exactly one kept new row matches (an ambiguous match leaves the
code where it was): services/roster/lineage.py, which carries the person's letters, returns
and inquiries the same way. A person who left the roster keeps their code on their old row; it stays
taken (`assigned_at`) and is never handed out again. One audit event with the counts.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.roster import RosterPerson
from incident_app.services.roster import lineage

Carried = lineage.Carried


def carry_codes(
    session: Session,
    *,
    incident_id: int,
    import_id: int,
    superseded: list[int],
    now: datetime,
    actor_label: str = "worker",
    rows: lineage.NewRows | None = None,
) -> Carried | None:
    """Move codes from the rows of `superseded` imports to `import_id`'s rows of the same
    people, and audit the counts. None (and no event) when no old row had a code. Does not
    commit: runs inside the import's final transaction. `rows`: the new import's rows by blind
    index when the caller has read them already."""
    if not superseded:
        return None
    old_rows = session.execute(
        sa.select(EnrolmentCode.id, RosterPerson.external_index, RosterPerson.identity_index)
        .join(RosterPerson, RosterPerson.id == EnrolmentCode.person_id)
        .where(RosterPerson.import_id.in_(superseded), EnrolmentCode.assigned_at.is_not(None))
        .order_by(EnrolmentCode.id)
    ).all()
    if not old_rows:
        return None
    if rows is None:
        rows = lineage.new_rows(session, import_id)
    taken: set[int] = set()
    moves: list[dict[str, int]] = []
    counts = {"external": 0, "identity": 0}
    for code_id, external, identity in old_rows:
        match = rows.same_person(external, identity, taken)
        if match is None:
            continue
        taken.add(match[0])
        moves.append({"code_id": code_id, "person_id": match[0]})
        counts[match[1]] += 1
    for move in moves:
        session.execute(
            sa.update(EnrolmentCode)
            .where(EnrolmentCode.id == move["code_id"])
            .values(person_id=move["person_id"])
            .execution_options(synchronize_session=False)
        )
    return Carried.record(
        session,
        action="enrolment.codes_carried_over",
        counts=counts,
        total=len(old_rows),
        incident_id=incident_id,
        import_id=import_id,
        superseded=superseded,
        now=now,
        actor_label=actor_label,
    )
