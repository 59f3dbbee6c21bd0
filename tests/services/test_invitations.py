"""Invitations (services/accounts/invitations.py): the one-time set-password link's life cycle,
each bad input (expired, used twice, wrong token, replaced, disabled account, weak password)
with a clear error and nothing written, the audit trail (never the secret), and the email
really delivered through a local SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_string

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app import passwords
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.mailer import SmtpMailer
from incident_app.models.audit import AuditEvent
from incident_app.models.invitation import AccountInvitation
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.accounts import invitations
from incident_app.services.accounts import signin
from incident_app.services.accounts import users
from incident_app.services.clients import contacts
from incident_app.services.clients import registry
from incident_app.services.reminders import notifications
from incident_app.services.reminders.outbox import deliver_email
from tests.support.client_helpers import ELM
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.invitation_helpers import latest_token
from tests.support.invitation_helpers import token_in
from tests.support.reminder_factories import Inbox
from tests.support.reminder_factories import free_port
from tests.support.reminder_factories import start_smtp

NEW_PASSWORD = "a password of my own choosing"
LIMITS = {"max_failures": 5, "lock_minutes": 15}


@pytest.fixture
def delivery(session) -> invitations.Delivery:
    return invitations.Delivery("https://bd.example.org", app_store.current_keyring(), hours=72)


@pytest.fixture
def admin(session) -> User:
    return make_user(session, role=Role.ADMIN)


def invite_new(session, admin: User, delivery, email: str = "new@example.org") -> User:
    return invitations.create_user(
        session,
        actor=admin,
        email=email,
        name="Nia New",
        role=Role.RESPONDER,
        delivery=delivery,
        now=NOW,
    )


def token_for(session, user: User) -> str:
    return latest_token(session, app_store.current_keyring(), user.email)


def accept(session, token: str, password: str = NEW_PASSWORD, *, hours: float = 1) -> User:
    return invitations.accept(
        session, token=token, password=password, now=NOW + timedelta(hours=hours), **LIMITS
    )


def actions(session, user_id: int | None = None) -> list[str]:
    query = sa.select(AuditEvent.action).order_by(AuditEvent.seq)
    if user_id is not None:
        query = query.where(AuditEvent.subject_id == str(user_id))
    return list(session.scalars(query))


def test_the_link_sets_the_password_once_and_the_account_then_signs_in(
    session, admin, delivery
) -> None:
    user = invite_new(session, admin, delivery)
    assert not passwords.verify_password(user.password_hash, "")  # nobody can sign in yet
    token = token_for(session, user)
    assert invitations.check_link(session, token=token, now=NOW).id == user.id

    accept(session, token)

    signed_in = signin.authenticate(
        session, email=user.email, password=NEW_PASSWORD, now=NOW + timedelta(hours=2), **LIMITS
    )
    assert signed_in.id == user.id
    invitation = session.scalars(sa.select(AccountInvitation)).one()
    assert invitation.used_at is not None
    # Only the hash of the secret is stored, and no audit event carries the token.
    secret = token.split(".", 1)[1]
    assert invitation.token_hash != secret and len(invitation.token_hash) == 64
    details = " ".join(str(d) for d in session.scalars(sa.select(AuditEvent.details)))
    assert secret not in details
    assert actions(session, user.id)[:3] == [
        "user.created",
        "account.invitation_sent",
        "account.invitation_used",
    ]


def test_the_outbox_keeps_the_link_sealed(session, admin, delivery) -> None:
    user = invite_new(session, admin, delivery)
    message = session.scalars(sa.select(EmailMessage)).one()
    assert message.to_address == user.email
    assert message.body.startswith(notifications.SEALED_PREFIX)
    assert "/invitation/" not in message.body
    assert "/invitation/" in notifications.open_body(app_store.current_keyring(), message.body)


def refused(session, token: str, reason: str, **kw: object) -> None:
    with pytest.raises(invitations.InvitationRefused) as caught:
        accept(session, token, **kw)  # type: ignore[arg-type]
    assert caught.value.reason == reason
    assert str(caught.value) == invitations.REFUSALS[reason]


def assert_password_not_set(session, user: User) -> None:
    session.refresh(user)
    assert user.password_hash == passwords.UNUSABLE


def test_a_used_link_fails_the_second_time(session, admin, delivery) -> None:
    user = invite_new(session, admin, delivery)
    token = token_for(session, user)
    accept(session, token)
    hash_after_first = session.get(User, user.id).password_hash

    refused(session, token, "used", hours=2)

    assert session.get(User, user.id).password_hash == hash_after_first
    assert actions(session, user.id)[-1] == "account.invitation_refused"


def test_an_expired_link_fails_and_writes_no_password(session, admin, delivery) -> None:
    user = invite_new(session, admin, delivery)
    token = token_for(session, user)

    refused(session, token, "expired", hours=72)

    assert_password_not_set(session, user)
    event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "account.invitation_refused"
    assert event.details["reason"] == "expired"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character off
        lambda t: "999999." + t.split(".", 1)[1],  # another invitation's number
        lambda t: t.split(".", 1)[1],  # no number
        lambda t: "",
        lambda t: "x" * 500,
    ],
)
def test_a_wrong_token_fails_and_counts_as_a_failed_sign_in(
    session, admin, delivery, mangle
) -> None:
    user = invite_new(session, admin, delivery)
    token = token_for(session, user)

    refused(session, mangle(token), "wrong_token")

    assert_password_not_set(session, user)
    assert session.scalars(sa.select(AccountInvitation)).one().used_at is None
    event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "account.invitation_refused"
    assert token.split(".", 1)[1] not in str(event.details)


def test_wrong_tokens_lock_the_link_like_wrong_passwords(session, admin, delivery) -> None:
    user = invite_new(session, admin, delivery)
    token = token_for(session, user)
    wrong = token[:-2] + ("zz" if not token.endswith("zz") else "yy")
    for _ in range(LIMITS["max_failures"]):
        refused(session, wrong, "wrong_token")
    session.refresh(user)
    assert user.locked_until is not None

    refused(session, token, "locked")  # even the right link waits for the lock to pass

    assert_password_not_set(session, user)
    accept(session, token, hours=1 + LIMITS["lock_minutes"] / 60 + 0.1)
    assert session.get(User, user.id).locked_until is None


def test_a_new_invitation_voids_the_earlier_link(session, admin, delivery) -> None:
    user = invite_new(session, admin, delivery)
    first = token_for(session, user)
    invitations.resend(session, actor=admin, user_id=user.id, delivery=delivery, now=NOW)
    second = token_for(session, user)
    assert first != second

    refused(session, first, "replaced")
    assert_password_not_set(session, user)
    accept(session, second)
    sent = [
        e
        for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))
        if e.action == "account.invitation_sent"
    ]
    assert sent[1].details["voided"] == [sent[0].details["invitation_id"]]


def test_a_disabled_accounts_link_fails(session, admin, delivery) -> None:
    user = invite_new(session, admin, delivery)
    token = token_for(session, user)
    users.set_active(session, actor=admin, user_id=user.id, active=False, now=NOW)

    refused(session, token, "inactive")

    assert_password_not_set(session, user)


@pytest.mark.parametrize("weak", ["short", "", "x" * 257])
def test_a_weak_password_is_refused_with_nothing_written(session, admin, delivery, weak) -> None:
    user = invite_new(session, admin, delivery)
    token = token_for(session, user)
    before = actions(session)

    with pytest.raises(ValidationFailed) as caught:
        accept(session, token, weak)

    assert "12 characters" in str(caught.value) or "256 characters" in str(caught.value)
    assert caught.value.field == "password"
    session.rollback()
    assert actions(session) == before
    assert_password_not_set(session, user)
    assert session.scalars(sa.select(AccountInvitation)).one().used_at is None
    accept(session, token)  # the link still works with a good password


def test_invitations_need_a_mail_server_and_refuse_accounts_with_a_password(
    session, admin, delivery
) -> None:
    no_mail = invitations.Delivery(None, delivery.keyring, hours=72)
    with pytest.raises(ValidationFailed, match="Email is not configured"):
        invite_new(session, admin, no_mail)
    session.rollback()
    assert session.scalar(sa.select(User).where(User.email == "new@example.org")) is None

    has_one = make_user(session, role=Role.LEGAL)
    with pytest.raises(ValidationFailed, match="already set a password"):
        invitations.resend(session, actor=admin, user_id=has_one.id, delivery=delivery, now=NOW)
    session.rollback()
    assert session.scalars(sa.select(AccountInvitation)).all() == []


def test_only_user_managers_invite_accounts(session, delivery) -> None:
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    with pytest.raises(NotAllowed):
        invite_new(session, officer, delivery)


def test_a_client_contact_invited_by_email_then_re_invited_by_its_officer(
    session, delivery
) -> None:
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    client = registry.create_client(session, actor=officer, values=ELM, now=NOW)
    link = contacts.invite_contact(
        session,
        actor=officer,
        client_id=client.id,
        email="dana@elm.example",
        name="Dana Reyes",
        password=None,
        now=NOW,
        delivery=delivery,
    )
    first = token_for(session, link.user)
    contacts.resend_invitation(
        session,
        actor=officer,
        client_id=client.id,
        user_id=link.user.id,
        delivery=delivery,
        now=NOW,
    )
    refused(session, first, "replaced")
    assert accept(session, token_for(session, link.user)).role is Role.CLIENT_CONTACT


def test_the_invitation_email_reaches_a_real_smtp_server(session, admin, delivery) -> None:
    inbox, port = Inbox(), free_port()
    controller = start_smtp(inbox, port)
    try:
        user = invite_new(session, admin, delivery)
        mailer = SmtpMailer(host="127.0.0.1", port=port, sender="bd@example.org", starttls=False)
        delivered, failed = deliver_email(
            session, mailer=mailer, now=NOW, keyring=app_store.current_keyring()
        )
    finally:
        controller.stop()

    assert (delivered, failed) == (1, 0)
    recipients, raw = inbox.messages[0]
    parsed = message_from_string(raw)
    assert recipients == [user.email]
    assert parsed["Subject"] == "[BreachDesk] Set your password"
    body = parsed.get_payload(decode=True).decode()
    assert body.count("https://bd.example.org/invitation/") == 1
    assert session.scalars(sa.select(EmailMessage)).one().status is EmailStatus.SENT
    accept(session, token_in(body))  # the delivered link is the one that works
    assert passwords.verify_password(session.get(User, user.id).password_hash, NEW_PASSWORD)
