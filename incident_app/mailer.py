"""Outgoing email: the Mailer protocol, SmtpMailer (configured from SMTP_* settings), and
RecordingMailer for tests that are not about email itself."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from email.utils import make_msgid
from typing import Any
from typing import Protocol

NOT_CONFIGURED = (
    "SMTP is not configured (SMTP_HOST is empty): reminders are delivered in-app only. "
    "Set SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD and MAIL_FROM to send email."
)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class MailDeliveryError(RuntimeError):
    """The message was not accepted; the text says why, in words an admin can act on.

    `server_down` is True when the server could not be reached at all (every other message
    would fail the same way), False when it answered and refused this one.
    """

    def __init__(self, message: str, *, server_down: bool = False) -> None:
        super().__init__(message)
        self.server_down = server_down


class Mailer(Protocol):
    configured: bool

    def send(self, mail: Mail) -> None:
        """Hand `mail` to the mail system; raise MailDeliveryError if it was not accepted."""


class UnconfiguredMailer:
    configured = False

    def send(self, mail: Mail) -> None:
        raise MailDeliveryError(NOT_CONFIGURED, server_down=True)


class RecordingMailer:
    """Keeps messages in a list. Only for tests whose subject is not email delivery."""

    configured = True

    def __init__(self) -> None:
        self.sent: list[Mail] = []

    def send(self, mail: Mail) -> None:
        self.sent.append(mail)


class SmtpMailer:
    configured = True

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool = True,
        use_ssl: bool = False,
        user: str = "",
        password: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.use_ssl = starttls, use_ssl
        self.user, self.password, self.timeout = user, password, timeout

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpMailer | UnconfiguredMailer:
        """An SmtpMailer, or an UnconfiguredMailer when SMTP_HOST is empty."""
        if not config.get("SMTP_HOST"):
            return UnconfiguredMailer()
        return cls(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            sender=config["MAIL_FROM"],
            starttls=bool(config["SMTP_STARTTLS"]),
            use_ssl=bool(config["SMTP_SSL"]),
            user=config.get("SMTP_USER") or "",
            password=config.get("SMTP_PASSWORD") or "",
            timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 10)),
        )

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, mail.to, mail.subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        # RFC 5322 3.6: every message carries an origination date (spam filters score its
        # absence, e.g. SpamAssassin's MISSING_DATE, and deadline reminders land in Junk).
        message["Date"] = format_datetime(datetime.now(UTC))
        message.set_content(mail.body)
        try:
            with self._connect() as smtp:
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(message)
        except smtplib.SMTPResponseException as error:
            text = (
                error.smtp_error.decode(errors="replace")
                if isinstance(error.smtp_error, bytes)
                else str(error.smtp_error)
            )
            raise MailDeliveryError(
                f"{self.host}:{self.port} refused the message: {error.smtp_code} {text}",
                server_down=error.smtp_code == 421,  # 421: service not available
            ) from error
        except smtplib.SMTPRecipientsRefused as error:
            raise MailDeliveryError(
                f"{self.host}:{self.port} refused the recipient {mail.to}"
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            raise MailDeliveryError(
                f"could not deliver through {self.host}:{self.port}: "
                f"{type(error).__name__}: {error}",
                server_down=True,
            ) from error

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            try:
                smtp.starttls(context=ssl.create_default_context())
            except (smtplib.SMTPException, OSError):
                smtp.close()
                raise
        return smtp
