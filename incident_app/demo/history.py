"""The seeded incident history: plans written, in the order they were opened, as the rows the
services would have written for them, in one transaction (`write_incidents`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.demo.cases import Case
from incident_app.demo.cases import Checklist
from incident_app.demo.planning import Plan
from incident_app.demo.writing import TABLES
from incident_app.demo.writing import Writer
from incident_app.demo.writing import reset_sequences
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import ReferenceCounter
from incident_app.models.task import ChecklistTemplate
from incident_app.services.organisation import get_organisation

FLUSH_INCIDENTS = 500

Progress = Callable[[str], None]


class Written(NamedTuple):
    incidents: int
    active_obligations: int
    audit_events: int


def write_incidents(
    session: Session, plans: list[Plan], *, progress: Progress = lambda message: None
) -> Written:
    """Write the planned incidents (in the order they were opened) in one transaction, as
    the services would have; returns how many incidents, active obligations, audit events.
    Raises ValidationFailed if a plan holds facts the intake form would refuse. Commits once.
    """
    plans = sorted(plans, key=lambda plan: plan.opened_at)  # stable: ties keep their order
    writer = Writer(session)
    history = History(session, writer, ZoneInfo(get_organisation(session).timezone))
    try:
        for done, plan in enumerate(plans, start=1):
            history.write(plan)
            if done % FLUSH_INCIDENTS == 0 or done == len(plans):
                writer.flush()
                progress(f"  incidents: {done:,}/{len(plans):,}")
    except ValidationFailed:
        session.rollback()  # nothing half-written
        raise
    events = writer.chain_audit()
    history.save_counters()
    reset_sequences(session, (*TABLES, AuditEvent))
    session.commit()
    return Written(len(plans), history.active_obligations, events)


class History:
    """Turns plans into the rows the services would have written for them."""

    def __init__(self, session: Session, writer: Writer, zone: ZoneInfo) -> None:
        self.writer, self.zone = writer, zone
        self.counters = {
            row.year: row.last_number for row in session.scalars(sa.select(ReferenceCounter))
        }
        self.known_years = set(self.counters)
        self.session = session
        self.checklists: list[Checklist] = [
            (t.name, set(t.breach_types), [(i.title, i.due_days) for i in t.items])
            for t in session.scalars(
                sa.select(ChecklistTemplate)
                .where(ChecklistTemplate.active.is_(True))
                .order_by(ChecklistTemplate.name)
            )
        ]
        self.active_obligations = 0

    def write(self, plan: Plan) -> None:
        case = Case(
            plan,
            reference=self.next_reference(plan.opened_at),
            writer=self.writer,
            zone=self.zone,
            checklists=self.checklists,
        )
        case.open()
        steps: list[tuple[datetime, int, Callable[[], None]]] = []
        for at, user, role in plan.team:
            steps.append((at, 1, partial(case.add_member, at, user, role)))
        if plan.assessment is not None:
            steps.append((plan.assessment[0], 2, case.assess))
        for at, status in plan.moves:
            steps.append((at, 3, partial(case.move, at, status)))
        for _, _, step in sorted(steps, key=lambda s: s[:2]):
            step()
        case.finish()
        self.active_obligations += sum(1 for row in case.obligations.values() if row.active)

    def next_reference(self, at: datetime) -> str:
        year = at.astimezone(self.zone).year
        self.counters[year] = self.counters.get(year, 0) + 1
        return f"BD-{year}-{self.counters[year]:04d}"

    def save_counters(self) -> None:
        for year, number in sorted(self.counters.items()):
            if year in self.known_years:
                self.session.execute(
                    sa.update(ReferenceCounter)
                    .where(ReferenceCounter.year == year)
                    .values(last_number=number)
                )
            else:
                self.session.execute(
                    sa.insert(ReferenceCounter), [{"year": year, "last_number": number}]
                )
