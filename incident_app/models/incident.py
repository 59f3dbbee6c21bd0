"""The incident (case file) and who works on it. Facts here feed the rules engine."""

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
from incident_app.models.user import User


class IncidentStatus(StrEnum):
    REPORTED = "reported"
    CONTAINMENT = "containment"
    INVESTIGATION = "investigation"
    RISK_ASSESSMENT = "risk_assessment"
    NOTIFICATION = "notification"
    MONITORING = "monitoring"
    CLOSED = "closed"
    CLOSED_NOT_A_BREACH = "closed_not_a_breach"

    @property
    def label(self) -> str:
        return {"closed_not_a_breach": "Closed – not a breach"}.get(
            self.value, self.value.replace("_", " ").capitalize()
        )

    @property
    def is_closed(self) -> bool:
        return self in (IncidentStatus.CLOSED, IncidentStatus.CLOSED_NOT_A_BREACH)


class CaseRole(StrEnum):
    LEAD = "lead"
    RESPONDER = "responder"
    LEGAL = "legal"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        sa.CheckConstraint("affected_estimate >= 0", name="affected_estimate_non_negative"),
        sa.Index("ix_incident_status_discovered", "status", "discovered_on"),
        sa.Index("ix_incident_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    how_found: Mapped[str] = mapped_column(sa.Text, default="")
    reported_by: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[IncidentStatus] = mapped_column(
        str_enum(IncidentStatus), default=IncidentStatus.REPORTED, index=True
    )
    # When it happened (UTC; either end may be unknown).
    occurred_from: Mapped[datetime | None]
    occurred_to: Mapped[datetime | None]
    # 164.404(a)(2): first day known to a non-culpable workforce member or agent ...
    discovered_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    discovered_by: Mapped[str] = mapped_column(sa.String(200), default="")
    # ... or the day it would have been known with reasonable diligence (earlier wins).
    diligence_known_on: Mapped[date | None] = mapped_column(sa.Date)
    diligence_justification: Mapped[str] = mapped_column(sa.Text, default="")
    # OCR portal option lists (REGULATORY.md §2), kept as lists of option codes.
    breach_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    locations: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    phi_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    safeguards: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # OCR's "Other (describe)" for type of breach and location.
    breach_type_other: Mapped[str] = mapped_column(sa.String(300), default="")
    location_other: Mapped[str] = mapped_column(sa.String(300), default="")
    systems_involved: Mapped[str] = mapped_column(sa.Text, default="")
    affected_estimate: Mapped[int] = mapped_column(default=0)
    # Counted from the imported roster (None until one is imported); they replace the
    # estimate in the rules engine's facts. Substitute notice counts LIVING people only.
    roster_total: Mapped[int | None]
    insufficient_contact_living: Mapped[int | None]
    # Business associate involvement (164.410).
    ba_involved: Mapped[bool] = mapped_column(default=False)
    ba_name: Mapped[str] = mapped_column(sa.String(200), default="")
    ba_contact: Mapped[str] = mapped_column(sa.String(300), default="")
    ba_discovered_on: Mapped[date | None] = mapped_column(sa.Date)
    ba_notified_on: Mapped[date | None] = mapped_column(sa.Date)
    ba_is_agent: Mapped[bool | None]
    # Regimes beyond HIPAA (issue 17). 42 CFR 2.16: the breach touched Part 2 (substance-use
    # disorder) records. Cal. Health & Safety Code 1280.15 and the like: USPS codes of the states
    # where the entity is a licensed health facility.
    part2_records: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    licensed_facility_states: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # GDPR Art. 33/34: EU/EEA data subjects affected, when the entity became aware (a moment:
    # the supervisory authority's 72 hours run in hours), the high-risk assessment (None: not
    # yet made) and whether the entity is the controller (else it notifies the controller).
    eu_data_subjects: Mapped[int] = mapped_column(default=0, server_default="0")
    gdpr_aware_at: Mapped[datetime | None]
    gdpr_high_risk: Mapped[bool | None]
    gdpr_controller: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # SEC Form 8-K Item 1.05: the day the incident was determined material (public companies).
    materiality_determined_on: Mapped[date | None] = mapped_column(sa.Date)
    # A tabletop exercise (issue 23): set at intake and never changed afterwards, so a drill
    # cannot turn into a real breach (or back) once its letters, emails and counts exist. It
    # runs the same workflow, but every page and PDF says EXERCISE, its email stays inside the
    # team, and it is kept out of the HHS log, metrics, the ICS feed and the status counts.
    exercise: Mapped[bool] = mapped_column(default=False, server_default=sa.false(), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    members: Mapped[list[IncidentMember]] = relationship(
        back_populates="incident", cascade="all, delete-orphan"
    )
    state_counts: Mapped[list[StateCount]] = relationship(
        back_populates="incident", cascade="all, delete-orphan"
    )
    law_enforcement_statements: Mapped[list[LawEnforcementStatement]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="LawEnforcementStatement.stated_on",
    )

    @property
    def treated_known_on(self) -> date | None:
        """The covered entity's own discovery: the earlier of known and diligence dates."""
        dates = [d for d in (self.discovered_on, self.diligence_known_on) if d is not None]
        return min(dates) if dates else None

    def __repr__(self) -> str:
        return f"<Incident {self.reference} {self.status}>"


class IncidentMember(Base):
    """Per-incident membership with a role on the case (on top of the user's global role)."""

    __tablename__ = "incident_member"
    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    case_role: Mapped[CaseRole] = mapped_column(str_enum(CaseRole))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    incident: Mapped[Incident] = relationship(back_populates="members")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<IncidentMember {self.incident_id}:{self.user_id} {self.case_role}>"


class CountSource(StrEnum):
    ESTIMATE = "estimate"  # typed in at intake
    ROSTER = "roster"  # computed from the imported roster (replaces the estimate)


class StateCount(Base):
    """Affected residents per state (USPS code), as estimated or as counted from the roster."""

    __tablename__ = "state_count"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "source", "state"),
        sa.CheckConstraint("residents >= 0", name="residents_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    source: Mapped[CountSource] = mapped_column(str_enum(CountSource))
    state: Mapped[str] = mapped_column(sa.String(2))
    residents: Mapped[int]

    incident: Mapped[Incident] = relationship(back_populates="state_counts")


class StatementForm(StrEnum):
    ORAL = "oral"
    WRITTEN = "written"


class LawEnforcementStatement(Base):
    """A law-enforcement request to delay notice (164.412)."""

    __tablename__ = "law_enforcement_statement"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    form: Mapped[StatementForm] = mapped_column(str_enum(StatementForm))
    official_name: Mapped[str] = mapped_column(sa.String(200))
    agency: Mapped[str] = mapped_column(sa.String(200))
    contact: Mapped[str] = mapped_column(sa.String(300), default="")
    stated_on: Mapped[date] = mapped_column(sa.Date)
    # Written statements: the end of the period they specify.
    delay_until: Mapped[date | None] = mapped_column(sa.Date)
    # An oral statement later confirmed in writing: when the written one arrived.
    written_received_on: Mapped[date | None] = mapped_column(sa.Date)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="law_enforcement_statements")


class ReferenceCounter(Base):
    """The last number handed out per year for BD-YYYY-NNNN; incremented under a row lock."""

    __tablename__ = "reference_counter"
    __table_args__ = (sa.CheckConstraint("last_number >= 0", name="last_number_non_negative"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


def as_jsonable(value: Any) -> Any:
    """Dates and enums as strings, for audit details of fact changes."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value
