"""Notification letters, their immutable rendered versions, the legal review trail and proof
that a notice went out.

A `Letter` is one document for one obligation (an individual-notice sample, a press release for
one state, the HHS packet …). Every render adds a `LetterVersion`: the PDF bytes live in the
file store under their SHA-256 and the row records the template file version and a fingerprint
of the case data the letter used, so a later change of either is detectable. Versions are never
updated or deleted. `LetterReviewEvent` is the append-only review trail; an approval event
copies the SHA-256 and template version it approved. A mail-merge batch references an approved
`LetterVersion` (template name + template version + the approved sample's hash and fingerprint).

`NoticeSent` records that a notice went out; the days after discovery and days late are frozen
when it is recorded, so a later edit of the discovery date never rewrites them.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum
from incident_app.models.incident import Incident
from incident_app.models.obligation import Obligation
from incident_app.models.user import User


class LetterStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    SENT = "sent"

    @property
    def label(self) -> str:
        return {"in_review": "In legal review", "changes_requested": "Changes requested"}.get(
            self.value, self.value.capitalize()
        )


class ReviewAction(StrEnum):
    RENDERED = "rendered"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    APPROVAL_VOIDED = "approval_voided"  # a re-render replaced the approved version
    SENT = "sent"

    @property
    def label(self) -> str:
        return {
            "submitted": "Sent to legal review",
            "changes_requested": "Changes requested",
            "approval_voided": "Approval voided by a new render",
            "sent": "Marked sent",
        }.get(self.value, self.value.capitalize())


class Letter(Base):
    __tablename__ = "letter"
    __table_args__ = (sa.UniqueConstraint("obligation_id", "template_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    obligation_id: Mapped[int] = mapped_column(sa.ForeignKey("obligation.id"))
    # The obligation's kind when the letter was made (individual_notice, media_notice, …).
    kind: Mapped[str] = mapped_column(sa.String(40))
    template_name: Mapped[str] = mapped_column(sa.String(100))
    # Printed on every page ("letter id" / "document id"); stable across versions.
    document_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    # Addressee of letters to one office (state attorney general, covered entity).
    recipient_name: Mapped[str] = mapped_column(sa.String(120), default="")
    recipient_address: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[LetterStatus] = mapped_column(str_enum(LetterStatus), default=LetterStatus.DRAFT)
    current_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("letter_version.id", use_alter=True)
    )
    # The version legal last approved (kept after a re-render, for the side-by-side view).
    approved_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("letter_version.id", use_alter=True)
    )
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The legal reviewer the letter was sent to (kept after the review, so that a revision goes
    # back to the same person) and when it was last sent to review (the queue's age).
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    review_requested_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship()
    obligation: Mapped[Obligation] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    versions: Mapped[list[LetterVersion]] = relationship(
        back_populates="letter",
        foreign_keys="LetterVersion.letter_id",
        order_by="LetterVersion.number",
    )
    current_version: Mapped[LetterVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    approved_version: Mapped[LetterVersion | None] = relationship(
        foreign_keys=[approved_version_id], post_update=True
    )

    def __repr__(self) -> str:
        return f"<Letter {self.document_id} {self.template_name} {self.status}>"


class LetterVersion(Base):
    """One render: immutable. The PDF is in the file store under `sha256`."""

    __tablename__ = "letter_version"
    __table_args__ = (
        sa.UniqueConstraint("letter_id", "number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
        sa.CheckConstraint("size_bytes > 0", name="size_bytes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(sa.ForeignKey("letter.id", ondelete="CASCADE"))
    number: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size_bytes: Mapped[int]
    template_name: Mapped[str] = mapped_column(sa.String(100))
    template_version: Mapped[str] = mapped_column(sa.String(64))
    # SHA-256 of the canonical JSON of the context the letter was rendered from.
    data_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    # The date printed on the letter: part of the context, fixed at render time.
    letter_date: Mapped[date] = mapped_column(sa.Date)
    # 164.404(c) check of this render: names of missing elements (block review), and the rest
    # of the report: {"phi_warnings": [...], "notes": [...], "readability": {...}}.
    missing_elements: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    content_report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    rendered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    rendered_at: Mapped[datetime] = mapped_column(default=utcnow)

    letter: Mapped[Letter] = relationship(back_populates="versions", foreign_keys=[letter_id])
    rendered_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<LetterVersion {self.letter_id} v{self.number} {self.sha256[:12]}>"


class LetterReviewEvent(Base):
    """Append-only review trail. Approval events copy the hash and template version."""

    __tablename__ = "letter_review_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(
        sa.ForeignKey("letter.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("letter_version.id"))
    action: Mapped[ReviewAction] = mapped_column(str_enum(ReviewAction))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    sha256: Mapped[str] = mapped_column(sa.String(64))
    template_version: Mapped[str] = mapped_column(sa.String(64))

    actor: Mapped[User] = relationship()
    version: Mapped[LetterVersion] = relationship()


class NoticeWording(Base):
    """The plain-language texts the letters of one incident print (one row per incident).

    Incident facts (dates, counts, PHI categories) come from the case; what a reader is told
    happened, what to do and what the organisation is doing is written here by the team.
    """

    __tablename__ = "notice_wording"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), unique=True
    )
    what_happened: Mapped[str] = mapped_column(sa.Text, default="")
    # Plain-language PHI types; empty: the OCR sub-type labels recorded on the incident.
    phi_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    steps_for_individuals: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    what_we_are_doing: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # The Spanish letter's texts: keys what_happened, phi_types, steps_for_individuals,
    # what_we_are_doing.
    spanish: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    media_contact: Mapped[str] = mapped_column(sa.String(300), default="")
    covered_entity_type: Mapped[str] = mapped_column(sa.String(40), default="Healthcare Provider")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    posting_start: Mapped[date | None] = mapped_column(sa.Date)
    posting_end: Mapped[date | None] = mapped_column(sa.Date)
    toll_free_active_until: Mapped[date | None] = mapped_column(sa.Date)
    substitute_areas: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # When resident notices are (to be) mailed, for the consumer reporting agency letters
    # until the notices are recorded as sent (the CRA statutes ask for their timing).
    residents_mailing_on: Mapped[date | None] = mapped_column(sa.Date)
    # Who acquired the information, if known (16 CFR 318.6(a) as amended in 2024).
    acquired_by: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    # GDPR Art. 33(3): (b) DPO or other contact point; (a) categories of data subjects and the
    # approximate number of personal data records; (c) likely consequences; Art. 33(1) reasons
    # for a notification later than 72 hours.
    gdpr_contact_point: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    gdpr_subject_categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    gdpr_records: Mapped[int | None]
    gdpr_consequences: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    gdpr_delay_reasons: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # SEC Form 8-K Item 1.05: the material impact (or reasonably likely material impact).
    sec_material_impact: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeMethod(StrEnum):
    FIRST_CLASS_MAIL = "first_class_mail"
    EMAIL = "email"
    PRESS_RELEASE = "press_release"
    HHS_PORTAL = "hhs_portal"
    WEB_POSTING = "web_posting"
    HAND_DELIVERY = "hand_delivery"

    @property
    def label(self) -> str:
        return {
            "first_class_mail": "First-class mail",
            "email": "Email",
            "press_release": "Press release to named outlets",
            "hhs_portal": "HHS breach portal",
            "web_posting": "Web posting (home page)",
            "hand_delivery": "Hand delivery / courier",
        }[self.value]


class NoticeSent(Base):
    """Proof of notice. `days_after_discovery` and `days_late` are frozen when recorded."""

    __tablename__ = "notice_sent"
    __table_args__ = (
        sa.CheckConstraint("days_late >= 0", name="days_late_non_negative"),
        sa.CheckConstraint(
            "posting_end IS NULL OR posting_start IS NULL OR posting_end >= posting_start",
            name="posting_period_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    obligation_id: Mapped[int] = mapped_column(sa.ForeignKey("obligation.id"), index=True)
    letter_id: Mapped[int] = mapped_column(sa.ForeignKey("letter.id"))
    # The approved version that went out (its SHA-256 is the approval's).
    letter_version_id: Mapped[int] = mapped_column(sa.ForeignKey("letter_version.id"))
    method: Mapped[NoticeMethod] = mapped_column(str_enum(NoticeMethod))
    sent_on: Mapped[date] = mapped_column(sa.Date)
    outlets: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    transaction_number: Mapped[str] = mapped_column(sa.String(64), default="")
    posting_start: Mapped[date | None] = mapped_column(sa.Date)
    posting_end: Mapped[date | None] = mapped_column(sa.Date)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # Frozen at recording time: what the case said then.
    discovery_on_at_send: Mapped[date | None] = mapped_column(sa.Date)
    due_on_at_send: Mapped[date | None] = mapped_column(sa.Date)
    days_after_discovery: Mapped[int | None]
    days_late: Mapped[int | None]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    obligation: Mapped[Obligation] = relationship()
    letter: Mapped[Letter] = relationship()
    recorded_by: Mapped[User] = relationship()
    proofs: Mapped[list[NoticeProof]] = relationship(
        back_populates="notice", order_by="NoticeProof.uploaded_at"
    )


class NoticeProof(Base):
    """Evidence that a notice went out (mail-house affidavit, portal confirmation)."""

    __tablename__ = "notice_proof"
    __table_args__ = (sa.CheckConstraint("size_bytes >= 0", name="size_bytes_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notice_sent.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    notice: Mapped[NoticeSent] = relationship(back_populates="proofs")
    uploaded_by: Mapped[User] = relationship()
