"""Issue #17's obligations in reminders and the ICS feed: their labels from the one kinds
table, the GDPR 72-hour deadline as a timed UTC event (parsed back with icalendar), every
other deadline all-day, and legal reviewers reminded of the notices they draft."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from icalendar import Calendar

from incident_app import rules
from incident_app.mailer import RecordingMailer
from incident_app.services.obligations import kinds
from incident_app.services.reminders import calendar_feed
from incident_app.services.reminders import sweep as reminders
from tests.support.reminder_factories import make_obligation
from tests.support.reminder_factories import make_team

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE = "https://breachdesk.example.org"
HOST = "breachdesk.example.org"


def feed_events(session, actor) -> dict[str, object]:
    token = calendar_feed.issue_token(session, actor=actor, now=NOW)
    calendar = Calendar.from_ical(calendar_feed.feed(session, token=token, now=NOW, base_url=BASE))
    calendar.validate()
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def gdpr_obligation() -> rules.Obligation:
    """The engine's own Art. 33 obligation, so the stored row has the engine's instant."""
    facts = rules.BreachFacts(
        discovered_on=date(2026, 3, 1),
        affected_total=10,
        gdpr=rules.GdprFacts(
            aware_at=datetime.fromisoformat("2026-03-01T15:30:00+01:00"), data_subjects=10
        ),
    )
    return next(
        item
        for item in rules.evaluate(facts).obligations
        if item.kind == "supervisory_authority_notice"
    )


def test_the_gdpr_72_hours_are_a_timed_utc_event_and_other_deadlines_stay_all_day(session):
    team = make_team(session)
    art33 = gdpr_obligation()
    assert art33.due_at == datetime(2026, 3, 4, 14, 30, tzinfo=UTC)  # 72 h after 14:30 UTC
    timed = make_obligation(
        session,
        team.incident,
        due_on=art33.due_on,
        due_at=art33.due_at,
        kind=art33.kind,
        jurisdiction=art33.jurisdiction,
    )
    cra = make_obligation(
        session, team.incident, due_on=date(2026, 4, 30), kind="cra_notice", jurisdiction="NY"
    )

    found = feed_events(session, team.lead)

    event = found[f"obligation-{timed.id}@{HOST}"]
    assert event.decoded("DTSTART") == datetime(2026, 3, 4, 14, 30, tzinfo=UTC)
    assert "DTSTART:20260304T143000Z" in event.to_ical().decode()
    assert event.decoded("DTEND") == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    assert str(event["SUMMARY"]) == (
        f"{team.incident.reference}: Notice to the supervisory authority (EU) due"
    )
    assert "at 2026-03-04 14:30 UTC" in str(event["DESCRIPTION"])
    assert [a.decoded("TRIGGER") for a in event.walk("VALARM")] == [
        -timedelta(hours=24),
        -timedelta(hours=2),
    ]
    all_day = found[f"obligation-{cra.id}@{HOST}"]
    assert all_day.decoded("DTSTART") == date(2026, 4, 30)
    assert all_day.decoded("DTEND") == date(2026, 5, 1)
    assert str(all_day["SUMMARY"]) == (
        f"{team.incident.reference}: Notice to consumer reporting agencies (NY) due"
    )


def test_an_overridden_hour_deadline_becomes_an_all_day_event(session):
    team = make_team(session)
    art33 = gdpr_obligation()
    row = make_obligation(
        session, team.incident, due_on=art33.due_on, due_at=art33.due_at, kind=art33.kind
    )
    row.override_due_on, row.override_reason = date(2026, 3, 6), "Authority agreed a date."
    session.commit()

    event = feed_events(session, team.lead)[f"obligation-{row.id}@{HOST}"]

    assert event.decoded("DTSTART") == date(2026, 3, 6)


@pytest.mark.parametrize(
    "kind",
    ["cra_notice", "sec_8k_notice", "part2_individual_notice", "ftc_notice", "vendor_notice"],
)
def test_new_kinds_are_reminded_under_their_labels(session, kind):
    team = make_team(session)
    make_obligation(session, team.incident, due_on=date(2026, 4, 1), kind=kind)
    mailer = RecordingMailer()

    reminders.sweep(session, now=NOW, mailer=mailer, base_url=BASE)

    subjects = {message.subject for message in mailer.sent if message.to == team.lead.email}
    assert subjects == {
        f"[BreachDesk] {team.incident.reference}: {kinds.label(kind)} due in 30 days"
    }
    reviewed = kind in kinds.LETTER_KINDS
    assert any(message.to == team.legal.email for message in mailer.sent) is reviewed


def test_the_hour_deadline_reminder_names_the_utc_time(session):
    team = make_team(session)
    art33 = gdpr_obligation()
    make_obligation(
        session, team.incident, due_on=art33.due_on, due_at=art33.due_at, kind=art33.kind
    )
    mailer = RecordingMailer()

    reminders.sweep(
        session, now=datetime(2026, 3, 4, 9, 0, tzinfo=UTC), mailer=mailer, base_url=BASE
    )

    bodies = [message.body for message in mailer.sent if message.to == team.lead.email]
    assert bodies and all("Due date: 2026-03-04 14:30 UTC." in body for body in bodies)


def test_portal_filings_do_not_remind_legal_but_drafted_notices_do():
    assert {"hhs_notice", "part2_hhs_notice", "ftc_annual_log"} <= (
        set(kinds.OBLIGATION_KINDS) - kinds.LETTER_KINDS
    )
    assert {"cra_notice", "supervisory_authority_notice", "sec_8k_notice"} <= kinds.LETTER_KINDS
