"""The demo's users: a few of each role, who open, work and sign the seeded incidents."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.demo.drawing import FIRST_NAMES
from incident_app.demo.drawing import HISTORY_DAYS
from incident_app.demo.drawing import LAST_NAMES
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.accounts import users

# The label the seed's own audit events carry (it acts as no user).
ACTOR_LABEL = "system (demo seed)"
# How many demo users of each role; their addresses are demo-<role>-<n>@example.org.
STAFF = {Role.PRIVACY_OFFICER: 3, Role.RESPONDER: 8, Role.LEGAL: 2, Role.AUDITOR: 1, Role.ADMIN: 1}


@dataclass(frozen=True)
class Staff:
    by_role: dict[Role, list[User]]

    def pick(self, rng: random.Random, role: Role) -> User:
        return rng.choice(self.by_role[role])


def ensure_staff(
    session: Session, rng: random.Random, password: str, now: datetime
) -> tuple[Staff, list[tuple[str, str]]]:
    """The demo users (reused when they exist, e.g. with --force-append). They are dated at
    the start of the seeded history, before the incidents they work on. Returns the staff
    and the (email, role) of each user created here."""
    since = now - timedelta(days=HISTORY_DAYS + 7)
    by_role: dict[Role, list[User]] = {}
    created: list[tuple[str, str]] = []
    for role, count in STAFF.items():
        for number in range(1, count + 1):
            email = f"demo-{role.value.replace('_', '-')}-{number}@example.org"
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            user = session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                user = users.create_user(
                    session,
                    actor=None,
                    actor_label=ACTOR_LABEL,
                    email=email,
                    name=name,
                    role=role,
                    password=password,
                    now=since,
                )
                created.append((email, role.value))
            by_role.setdefault(role, []).append(user)
    return Staff(by_role), created
