"""services.obligations.diff: the pure difference between stored and computed obligations (no
database: rows are plain objects)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from incident_app import rules
from incident_app.services.obligations import diff as obligation_diff

EARLIER = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)


@dataclass
class Row:
    kind: str
    jurisdiction: str
    source_key: str
    due_on: date | None
    citation: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    due_at: datetime | None = None
    created_at: datetime = EARLIER
    updated_at: datetime = EARLIER


def _hhs(due_on: date | None = date(2025, 8, 1), reason: str = "500 or more") -> rules.Obligation:
    return rules.Obligation("hhs_notice", "US", due_on, "45 CFR 164.408", reason)


def _california(citation: str) -> rules.Obligation:
    return rules.Obligation(
        "state_individual_notice", "CA", date(2025, 7, 1), citation, "State law"
    )


def _stored(item: rules.Obligation, **changes: Any) -> Row:
    kind, jurisdiction, source_key = obligation_diff.key_of(item)
    row = Row(kind, jurisdiction, source_key, item.due_on, item.citation, item.reason)
    row.detail = dict(item.detail)
    row.due_at = item.due_at
    for name, value in changes.items():
        setattr(row, name, value)
    return row


def test_hipaa_obligations_are_keyed_without_a_source_and_state_ones_by_statute():
    assert obligation_diff.key_of(_hhs()) == ("hhs_notice", "US", "")
    civil, health = _california("Cal. Civ. Code 1798.82"), _california("Cal. H&S Code 1280.15")
    assert obligation_diff.key_of(civil) != obligation_diff.key_of(health)
    assert obligation_diff.key_of(civil) == (
        "state_individual_notice",
        "CA",
        "Cal. Civ. Code 1798.82",
    )


def test_everything_is_added_to_an_incident_without_rows():
    computed = [_hhs(), _california("Cal. Civ. Code 1798.82")]

    changes = obligation_diff.diff([], computed)

    assert [c.key for c in changes.add] == [obligation_diff.key_of(o) for o in computed]
    assert changes.add[0].columns == {
        "due_on": date(2025, 8, 1),
        "due_at": None,
        "citation": "45 CFR 164.408",
        "reason": "500 or more",
        "detail": {},
        "active": True,
    }
    assert changes.update == changes.retire == ()
    assert changes.details == {
        "added": ["hhs_notice US", "state_individual_notice CA Cal. Civ. Code 1798.82"]
    }


def test_unchanged_obligations_give_no_changes():
    changes = obligation_diff.diff([_stored(_hhs())], [_hhs()])

    assert not changes
    assert changes.details == {}


def test_a_moved_due_date_is_an_update_with_old_and_new_dates():
    changes = obligation_diff.diff([_stored(_hhs())], [_hhs(due_on=date(2025, 9, 1))])

    assert [c.key for c in changes.update] == [("hhs_notice", "US", "")]
    assert changes.details == {"due_dates": {"hhs_notice US": ["2025-08-01", "2025-09-01"]}}


def _supervisory(due_at: datetime) -> rules.Obligation:
    return rules.Obligation(
        "supervisory_authority_notice",
        "EU",
        due_at.astimezone(UTC).date(),
        "GDPR Art. 33(1)",
        "72 hours",
        due_at=due_at,
    )


def test_an_hour_clock_keeps_its_instant_and_a_moved_instant_is_audited():
    # Awareness moved from 09:00 to 14:00 UTC on 2025-06-02: due 2025-06-05 09:00 → 14:00 UTC,
    # the same date; only the instant tells the change.
    stored = _stored(_supervisory(datetime(2025, 6, 5, 9, tzinfo=UTC)))
    moved = _supervisory(datetime(2025, 6, 5, 14, tzinfo=UTC))

    changes = obligation_diff.diff([stored], [moved])

    assert changes.update[0].columns["due_at"] == datetime(2025, 6, 5, 14, tzinfo=UTC)
    assert changes.details == {
        "due_times": {
            "supervisory_authority_notice EU GDPR Art. 33(1)": [
                "2025-06-05T09:00:00+00:00",
                "2025-06-05T14:00:00+00:00",
            ]
        }
    }


def test_the_same_instant_in_another_zone_is_no_change():
    # 16:00 in Berlin (UTC+2 in June) is 14:00 UTC.
    berlin = datetime(2025, 6, 5, 16, tzinfo=ZoneInfo("Europe/Berlin"))
    stored = _stored(_supervisory(datetime(2025, 6, 5, 14, tzinfo=UTC)))
    stored.due_at = berlin

    assert not obligation_diff.diff([stored], [_supervisory(datetime(2025, 6, 5, 14, tzinfo=UTC))])


def test_a_reworded_reason_is_updated_without_an_audit_summary():
    changes = obligation_diff.diff([_stored(_hhs())], [_hhs(reason="Reworded")])

    assert changes and changes.update[0].columns["reason"] == "Reworded"
    assert changes.details == {}


def test_obligations_that_no_longer_apply_are_retired_in_key_order():
    rows = [
        _stored(_california("Cal. H&S Code 1280.15")),
        _stored(_hhs()),
        _stored(_california("Cal. Civ. Code 1798.82"), active=False),  # already retired
    ]

    changes = obligation_diff.diff(rows, [])

    assert changes.retire == (
        ("hhs_notice", "US", ""),
        ("state_individual_notice", "CA", "Cal. H&S Code 1280.15"),
    )
    assert changes.details == {
        "removed": ["hhs_notice US", "state_individual_notice CA Cal. H&S Code 1280.15"]
    }


def test_a_retired_obligation_that_applies_again_comes_back_as_added():
    changes = obligation_diff.diff([_stored(_hhs(), active=False)], [_hhs()])

    assert changes.add == ()
    assert changes.update[0].columns["active"] is True
    assert changes.details == {"added": ["hhs_notice US"]}


def test_apply_writes_the_changes_into_the_rows():
    moved, gone = _stored(_hhs()), _stored(_california("Cal. H&S Code 1280.15"))
    rows = {obligation_diff.stored_key(r): r for r in (moved, gone)}
    computed = [_hhs(due_on=date(2025, 9, 1)), _california("Cal. Civ. Code 1798.82")]
    changes = obligation_diff.diff(rows.values(), computed)

    def create(key: obligation_diff.ObligationKey, columns: obligation_diff.ObligationColumns):
        return Row(*key, **columns, created_at=NOW, updated_at=NOW)

    obligation_diff.apply(changes, rows, create=create, now=NOW)

    assert (moved.due_on, moved.updated_at, moved.created_at) == (date(2025, 9, 1), NOW, EARLIER)
    assert moved.due_at is None
    assert (gone.active, gone.updated_at) == (False, NOW)
    added = rows[("state_individual_notice", "CA", "Cal. Civ. Code 1798.82")]
    assert (added.active, added.created_at, added.due_on) == (True, NOW, date(2025, 7, 1))
    assert not obligation_diff.diff(rows.values(), computed)


def test_determination_columns_copy_the_engine_result():
    determination = rules.Determination(True, "Presumed breach", date(2025, 6, 1), (), ("late",))

    columns = obligation_diff.determination_columns(determination, assessment_version_id=7, now=NOW)

    assert columns == {
        "reportable": True,
        "reason": "Presumed breach",
        "treated_discovery_on": date(2025, 6, 1),
        "warnings": ["late"],
        "assessment_version_id": 7,
        "computed_at": NOW,
    }
