"""Accounts: created by admins or the CLI, never deleted, bad input leaves nothing behind."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import passwords
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.accounts import users
from tests.support.factories import NOW
from tests.support.factories import PASSWORD
from tests.support.factories import make_user


def _count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _actions(session: Session) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_admin_creates_a_user_with_a_hashed_password_and_an_audit_event(session) -> None:
    admin = make_user(session, role=Role.ADMIN)

    user = users.create_user(
        session,
        actor=admin,
        email=" New.Person@Example.org ",
        name="New Person",
        role=Role.LEGAL,
        password="a" * 12,
        now=NOW,
    )

    assert user.email == "new.person@example.org" and user.role is Role.LEGAL
    assert user.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(user.password_hash, "a" * 12)
    assert _actions(session) == ["user.created"]


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("dup@example.org", "long enough pw", "email"),
        ("not-an-email", "long enough pw", "email"),
        ("fresh@example.org", "short", "password"),
        ("fresh@example.org", "x" * 257, "password"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(session, email, password, field) -> None:
    admin = make_user(session, role=Role.ADMIN)
    make_user(session, email="dup@example.org")
    before = (_count(session, User), _count(session, AuditEvent))

    with pytest.raises(ValidationFailed) as caught:
        users.create_user(
            session,
            actor=admin,
            email=email,
            name="X",
            role=Role.RESPONDER,
            password=password,
            now=NOW,
        )
    session.rollback()

    assert caught.value.field == field
    assert (_count(session, User), _count(session, AuditEvent)) == before


def test_only_admins_manage_users(session) -> None:
    officer = make_user(session, role=Role.PRIVACY_OFFICER)

    with pytest.raises(NotAllowed):
        users.create_user(
            session,
            actor=officer,
            email="x@example.org",
            name="X",
            role=Role.ADMIN,
            password="a" * 12,
            now=NOW,
        )


def test_role_change_and_deactivation_are_audited_and_end_sessions(session) -> None:
    admin = make_user(session, role=Role.ADMIN)
    user = make_user(session, role=Role.RESPONDER)
    version = user.session_version

    users.change_role(session, actor=admin, user_id=user.id, role=Role.LEGAL, now=NOW)
    users.set_active(session, actor=admin, user_id=user.id, active=False, now=NOW)

    assert user.role is Role.LEGAL and not user.active
    assert user.session_version == version + 1
    assert _actions(session) == ["user.role_changed", "user.deactivated"]
    assert _count(session, User) == 2  # deactivated, never deleted


def test_admin_cannot_lock_themself_out(session) -> None:
    admin = make_user(session, role=Role.ADMIN)

    with pytest.raises(ValidationFailed):
        users.set_active(session, actor=admin, user_id=admin.id, active=False, now=NOW)
    with pytest.raises(ValidationFailed):
        users.change_role(session, actor=admin, user_id=admin.id, role=Role.LEGAL, now=NOW)


def test_change_password_checks_the_current_one(session) -> None:
    user = make_user(session)

    with pytest.raises(ValidationFailed) as caught:
        users.change_password(
            session,
            actor=user,
            current_password="wrong password!",
            new_password="another long password",
            now=NOW,
        )
    assert caught.value.field == "current_password"

    users.change_password(
        session,
        actor=user,
        current_password=PASSWORD,
        new_password="another long password",
        now=NOW,
    )
    assert passwords.verify_password(user.password_hash, "another long password")
    assert _actions(session) == ["user.password_changed"]


def test_ensure_admin_creates_once(session) -> None:
    first = users.ensure_admin(session, email="boss@example.org", password=None, now=NOW)
    second = users.ensure_admin(session, email="boss@example.org", password=None, now=NOW)

    assert first.created and first.generated_password and len(first.generated_password) >= 12
    assert not second.created and second.email == "boss@example.org"
    assert _count(session, User) == 1
