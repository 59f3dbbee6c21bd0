"""Key rotation of the small encrypted columns: TOTP secrets and sealed outbox bodies, through
the shared batch loop (services/rotation_batches.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incident_app.crypto import KeyRing
from incident_app.crypto import key_id_of
from incident_app.models.notification import EmailMessage
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import key_rotation
from incident_app.services.accounts import mfa
from incident_app.services.reminders import notifications
from tests.support.factories import NOW
from tests.support.factories import make_user

OLD = KeyRing([("k1", bytes(range(32)))], bytes(range(32, 64)))
NEW = KeyRing([("k2", bytes(range(64, 96))), ("k1", bytes(range(32)))], bytes(range(32, 64)))


def test_both_columns_are_listed_rotations() -> None:
    assert ("totp", mfa.rotate_totp_secrets) in key_rotation.ROTATIONS
    assert ("outbox", notifications.rotate_sealed_bodies) in key_rotation.ROTATIONS


def test_totp_secrets_move_to_the_primary_key_and_still_verify(session) -> None:
    users = [make_user(session, role=Role.PRIVACY_OFFICER) for _ in range(3)]
    secrets = [mfa.begin_enrolment(session, actor=u, keyring=OLD, now=NOW).secret for u in users]
    without = make_user(session)  # no authenticator: nothing to rotate
    session.commit()

    assert mfa.rotate_totp_secrets(session, NEW, 2) == 3
    assert mfa.rotate_totp_secrets(session, NEW, 2) == 0  # nothing left to do

    for user, secret in zip(users, secrets, strict=True):
        session.refresh(user)
        assert user.totp_secret is not None and key_id_of(user.totp_secret) == "k2"
        assert mfa.current_enrolment(user, NEW).secret == secret  # same secret, new key
        with pytest.raises(Exception, match="k2"):
            mfa.current_enrolment(user, OLD)
    assert session.get(User, without.id).totp_secret is None


def test_sealed_bodies_move_to_the_primary_key_and_plain_bodies_stay(session) -> None:
    sealed = [
        EmailMessage(
            to_address=f"p{n}@example.org",
            subject="Notice",
            body=notifications.seal_body(OLD, f"Dear person {n}"),
            created_at=NOW,
            next_attempt_at=NOW,
        )
        for n in range(3)
    ]
    plain = EmailMessage(
        to_address="team@example.org",
        subject="Reminder",
        body="sealed: not really, a reminder that mentions the word",
        created_at=NOW,
        next_attempt_at=NOW,
    )
    session.add_all([*sealed, plain])
    session.commit()

    assert notifications.rotate_sealed_bodies(session, NEW, 2) == 3
    assert notifications.rotate_sealed_bodies(session, NEW, 2) == 0

    for n, message in enumerate(sealed):
        session.refresh(message)
        assert notifications.open_body(NEW, message.body) == f"Dear person {n}"
        with pytest.raises(Exception, match="k2"):
            notifications.open_body(OLD, message.body)
    assert session.scalar(sa.select(EmailMessage.body).where(EmailMessage.id == plain.id)) == (
        "sealed: not really, a reminder that mentions the word"
    )
