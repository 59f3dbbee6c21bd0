"""Builders for reminder tests: a team with an incident, obligations, tasks, a mail server."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.obligation import Obligation
from incident_app.models.task import Task
from incident_app.models.user import Role
from incident_app.models.user import User
from tests.support.factories import make_incident
from tests.support.factories import make_user

# What the incident's own fields say: email and calendar text must never contain any of it.
PHI_TITLE = "Laptop with records of Jane Q. Patient, MRN 4471-22"
PHI_DESCRIPTION = "Diagnosis codes and SSN 123-45-6789 of Jane Q. Patient"


@dataclass
class Team:
    officer: User
    lead: User
    responder: User
    legal: User
    incident: Incident


def make_team(session: Session, **incident_fields: object) -> Team:
    officer = make_user(session, role=Role.PRIVACY_OFFICER, email=None)
    lead = make_user(session, role=Role.RESPONDER)
    responder = make_user(session, role=Role.RESPONDER)
    legal = make_user(session, role=Role.LEGAL)
    incident = make_incident(
        session,
        created_by=officer,
        title=PHI_TITLE,
        description=PHI_DESCRIPTION,
        members={lead: CaseRole.LEAD, responder: CaseRole.RESPONDER, legal: CaseRole.LEGAL},
        **incident_fields,
    )
    return Team(officer, lead, responder, legal, incident)


def make_obligation(
    session: Session,
    incident: Incident,
    *,
    due_on: date | None,
    kind: str = "individual_notice",
    jurisdiction: str = "US",
    active: bool = True,
    due_at: datetime | None = None,
) -> Obligation:
    row = Obligation(
        incident_id=incident.id,
        kind=kind,
        jurisdiction=jurisdiction,
        due_on=due_on,
        due_at=due_at,
        citation="45 CFR 164.404(b)",
        reason="Test obligation.",
        active=active,
    )
    session.add(row)
    session.commit()
    return row


def make_task(
    session: Session,
    incident: Incident,
    *,
    due_on: date,
    assignee: User | None,
    title: str = "Call Jane Q. Patient about her records",
) -> Task:
    task = Task(
        incident_id=incident.id,
        title=title,
        due_on=due_on,
        assignee_id=assignee.id if assignee else None,
        created_by_id=incident.created_by_id,
    )
    session.add(task)
    session.commit()
    return task


def free_port() -> int:
    """A loopback port nothing listens on at the moment. Under pytest-xdist each worker only
    takes ports of its own class, (port // 2) % workers (Linux hands bind() odd ports, so not
    port % 2), and two workers never get the same port between this probe and the bind of the
    server that uses it."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    for _ in range(1000):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port // 2 % workers == worker:
            return port
    raise RuntimeError(f"no free loopback port for xdist worker {worker} of {workers}")


@dataclass
class Inbox:
    """What a real aiosmtpd server received: (envelope recipients, raw message) per DATA."""

    messages: list[tuple[list[str], str]] = field(default_factory=list)
    refuse_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, smtp_session: object, envelope) -> str:
        if self.refuse_with:
            return self.refuse_with
        with self.lock:
            self.messages.append(
                (list(envelope.rcpt_tos), envelope.content.decode("utf-8", errors="replace"))
            )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[str]:
        return [raw for rcpts, raw in self.messages if address in rcpts]


def start_smtp(inbox: Inbox, port: int) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller
