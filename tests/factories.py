"""Test data builders. They commit (a savepoint release under the test fixture)."""

from __future__ import annotations

import itertools
from datetime import UTC
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app import passwords
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
