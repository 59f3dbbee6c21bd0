"""Inquiries from individuals after the letters go out, and letters the post office returned.

An `Inquiry` is one call, email, letter or visit about an incident. Who it is about is found
through the letter code printed on their letter or the roster's name + date-of-birth blind
index (never a plaintext search); what was said (summary, outcome, the caller's name and
contact) is PHI and lives only in `phi`, one AES-GCM blob whose associated data names the
incident and the inquiry. A follow-up date makes it a deadline the reminder sweep and the
calendar feed know (services/reminders/deadlines.py).

A `ReturnedLetter` records one returned `MailLetter` (unique: a letter comes back once). With a
new address the person is re-queued for the next mailing, whose letter gets a new code; the
returned `MailLetter` stays as history.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum


class InquiryChannel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"
    IN_PERSON = "in_person"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class InquiryCategory(StrEnum):
    QUESTION = "question"
    COMPLAINT = "complaint"
    ADDRESS_CHANGE = "address_change"
    COPY_REQUEST = "copy_request"
    DECEASED_NOTICE = "deceased_notice"
    MEDIA = "media"

    @property
    def label(self) -> str:
        return {
            "question": "Question",
            "complaint": "Complaint",
            "address_change": "Address change",
            "copy_request": "Request for a copy",
            "deceased_notice": "Deceased notice",
            "media": "Media",
        }[self.value]


class FoundBy(StrEnum):
    LETTER_CODE = "letter_code"
    NAME_DOB = "name_dob"
    NOT_ON_ROSTER = "not_on_roster"

    @property
    def label(self) -> str:
        return {
            "letter_code": "Letter code",
            "name_dob": "Name and date of birth",
            "not_on_roster": "Not found on the roster",
        }[self.value]


class InquiryStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Inquiry(Base):
    __tablename__ = "inquiry"
    __table_args__ = (
        sa.Index("ix_inquiry_incident_status_follow_up", "incident_id", "status", "follow_up_on"),
        sa.Index("ix_inquiry_incident_received", "incident_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    # SET NULL: purging a superseded roster keeps the inquiry (its blob keeps the name).
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_person.id", ondelete="SET NULL"), index=True
    )
    # The same person's row in a later roster version: set when a replace import commits
    # (services/roster/lineage.py), so the person page still shows this record once the row
    # above is purged. Not PHI.
    later_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_person.id", ondelete="SET NULL"), index=True
    )
    found_by: Mapped[FoundBy] = mapped_column(str_enum(FoundBy, length=16))
    letter_code: Mapped[str | None] = mapped_column(sa.String(40))  # not PHI (people.py)
    channel: Mapped[InquiryChannel] = mapped_column(str_enum(InquiryChannel, length=12))
    category: Mapped[InquiryCategory] = mapped_column(str_enum(InquiryCategory, length=16))
    # {"summary", "outcome", "name", "initials", "caller": {"name", "contact"}}: AES-GCM,
    # associated data inquiry_aad(incident_id, id).
    phi: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[InquiryStatus] = mapped_column(
        str_enum(InquiryStatus, length=8), default=InquiryStatus.OPEN
    )
    follow_up_on: Mapped[date | None] = mapped_column(sa.Date)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    received_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    def __repr__(self) -> str:
        return f"<Inquiry {self.id} incident={self.incident_id} {self.category} {self.status}>"


class ReturnOutcome(StrEnum):
    REMAIL = "remail"  # a new address: re-queued for the next mailing
    UNREACHABLE = "unreachable"  # counts towards substitute notice, 164.404(d)(2)

    @property
    def label(self) -> str:
        return {"remail": "Re-mail to a new address", "unreachable": "Unreachable"}[self.value]


class ReturnedLetter(Base):
    __tablename__ = "returned_letter"
    __table_args__ = (
        sa.Index("ix_returned_letter_incident_recorded", "incident_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    # Unique: a letter comes back once; a second record of it is refused.
    mail_letter_id: Mapped[int] = mapped_column(
        sa.ForeignKey("mail_letter.id", ondelete="CASCADE"), unique=True
    )
    letter_code: Mapped[str] = mapped_column(sa.String(40))
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_person.id", ondelete="SET NULL"), index=True
    )
    # The same person's row in a later roster version: set when a replace import commits
    # (services/roster/lineage.py), so the person page still shows this record once the row
    # above is purged. Not PHI.
    later_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_person.id", ondelete="SET NULL"), index=True
    )
    outcome: Mapped[ReturnOutcome] = mapped_column(str_enum(ReturnOutcome, length=12))
    returned_on: Mapped[date] = mapped_column(sa.Date)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ReturnedLetter {self.letter_code} {self.outcome}>"
