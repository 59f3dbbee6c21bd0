"""The HHS annual log's exports: the year's log as CSV (formula-injection safe) and as a PDF
for the record, both audited. The log itself (which breaches, their portal fields, filings) is
services/hhs_log.py.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from datetime import datetime
from typing import TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.models.organisation import Organisation
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.audit_log import neutralise
from incident_app.services.hhs_log import NOT_RECORDED
from incident_app.services.hhs_log import LogEntry
from incident_app.services.hhs_log import annual_log
from incident_app.services.hhs_log import day_text
from incident_app.services.organisation import get_organisation

CSV_HEADER = (
    "Incident",
    "Status",
    "Due date",
    "Filed on",
    "Transaction number",
    "Report type",
    "Addenda",
)


def export_csv(session: Session, *, actor: User, year: int, now: datetime) -> str:
    """The year's log as CSV: one row per breach, every portal field, formula-injection safe.
    Audited; commits once."""
    log = annual_log(session, actor=actor, year=year)
    labels = list(log.entries[0].fields) if log.entries else []
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*CSV_HEADER, *labels])
    for entry in log.entries:
        writer.writerow(
            [
                neutralise(value)
                for value in (*_summary(entry), *(entry.fields[label] for label in labels))
            ]
        )
    _audit_export(session, actor, year, "csv", len(log.entries), now)
    return buffer.getvalue()


def _summary(entry: LogEntry) -> tuple[str, ...]:
    latest = entry.latest
    return (
        entry.incident.reference,
        entry.status.label,
        day_text(entry.effective_due_on),
        latest.filed_on.isoformat() if latest else "",
        latest.transaction_number if latest else "",
        latest.report_type.label if latest else "",
        str(max(0, len(entry.filings) - 1)),
    )


class AnnualLogContext(TypedDict):
    """hhs_annual_log.html"""

    organisation: LogLetterhead
    letter_date: date
    year: int
    due_dates: list[str]  # ISO dates
    entries: list[LoggedBreach]


class LogLetterhead(TypedDict):
    """The letterhead of letters' OrganisationContext, without the signature."""

    name: str
    address_lines: list[str]
    toll_free_number: str
    email: str
    website: str
    logo_data_uri: str | None


class LoggedBreach(TypedDict):
    reference: str
    title: str
    summary: list[tuple[str, str]]  # CSV_HEADER label -> value, after the reference
    fields: list[tuple[str, str]]  # the OCR portal's labels -> today's answers


def export_pdf(session: Session, *, actor: User, year: int, now: datetime) -> bytes:
    """The year's log as a PDF document (letter_templates/hhs_annual_log.html). Audited;
    commits once."""
    log = annual_log(session, actor=actor, year=year)
    org = get_organisation(session)
    context: AnnualLogContext = {
        "organisation": _organisation(org),
        "letter_date": now.astimezone(ZoneInfo(org.timezone)).date(),
        "year": year,
        "due_dates": [d.isoformat() for d in log.due_dates()],
        "entries": [
            {
                "reference": e.incident.reference,
                "title": e.incident.title,
                "summary": list(zip(CSV_HEADER[1:], _summary(e)[1:], strict=True)),
                "fields": list(e.fields.items()),
            }
            for e in log.entries
        ],
    }
    pdf = letters.render_pdf("hhs_annual_log.html", context)
    _audit_export(session, actor, year, "pdf", len(log.entries), now)
    return pdf


def _organisation(org: Organisation) -> LogLetterhead:
    city = ", ".join(part for part in (org.city, f"{org.state} {org.postal_code}".strip()) if part)
    lines = [line for line in (org.address_line1, org.address_line2, city) if line]
    logo = letters.logo_data_uri(org.logo, org.logo_mime) if org.logo and org.logo_mime else None
    return {
        "name": org.legal_name or NOT_RECORDED,
        "address_lines": lines,
        "toll_free_number": org.toll_free_number,
        "email": org.email,
        "website": org.website,
        "logo_data_uri": logo,
    }


def _audit_export(
    session: Session, actor: User, year: int, fmt: str, rows: int, now: datetime
) -> None:
    audit.record(
        session,
        actor=actor,
        action="hhs_log.exported",
        at=now,
        details={"year": year, "format": fmt, "breaches": rows},
    )
    session.commit()
