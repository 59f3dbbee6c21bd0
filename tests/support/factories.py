"""Test data builders. They commit (a savepoint release under the test fixture)."""

from __future__ import annotations

import itertools
from datetime import UTC
from datetime import date
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app import passwords
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.user import Role
from incident_app.models.user import User

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
_counter = itertools.count(1)


def make_user(
    session: Session,
    *,
    role: Role = Role.RESPONDER,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
) -> User:
    n = next(_counter)
    user = User(
        email=email or f"{role.value}{n}@example.org",
        name=name or f"{role.label} {n}",
        role=role,
        password_hash=passwords.hash_password(password),
        active=active,
        created_at=NOW,
    )
    session.add(user)
    session.commit()
    return user


def make_incident(
    session: Session,
    *,
    created_by: User,
    title: str = "Lost laptop with patient list",
    discovered_on: date | None = date(2025, 9, 15),
    affected_estimate: int = 0,
    members: dict[User, CaseRole] | None = None,
    **fields: object,
) -> Incident:
    """An incident with an optional team. Reference numbers are unique per test run."""
    n = next(_counter)
    incident = Incident(
        reference=f"BD-2025-{n:04d}",
        title=title,
        discovered_on=discovered_on,
        affected_estimate=affected_estimate,
        created_by_id=created_by.id,
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )
    session.add(incident)
    session.flush()
    for user, role in (members or {}).items():
        session.add(IncidentMember(incident_id=incident.id, user_id=user.id, case_role=role))
    session.commit()
    return incident
