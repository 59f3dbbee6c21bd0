"""The issue #17 contract: the new facts, their defaults, their validation and Obligation.due_at."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import GdprFacts
from incident_app.rules import InvalidFacts
from incident_app.rules import NoticesSent
from incident_app.rules import Obligation
from incident_app.rules import evaluate
from incident_app.rules import to_jsonable

DAY = date(2025, 9, 15)
AWARE = datetime(2025, 9, 15, 9, 30, tzinfo=UTC)


def test_the_contracted_names_import_from_the_package():
    from incident_app.rules import BreachFacts as Facts  # noqa: F401 (the import is the test)
    from incident_app.rules import GdprFacts as Gdpr  # noqa: F401
    from incident_app.rules import NoticesSent as Sent  # noqa: F401
    from incident_app.rules import evaluate as run  # noqa: F401


def test_new_fields_default_to_todays_results():
    facts = BreachFacts(discovered_on=DAY, affected_total=600, residents_by_state={"TX": 600})
    explicit = BreachFacts(
        discovered_on=DAY,
        affected_total=600,
        residents_by_state={"TX": 600},
        entity_role="covered_entity",
        part2_records=False,
        licensed_facility_states=frozenset(),
        notices_sent=None,
        gdpr=None,
        materiality_determined_on=None,
    )

    assert evaluate(facts) == evaluate(explicit)
    assert all(item.due_at is None for item in evaluate(facts).obligations)


@pytest.mark.parametrize(
    ("cls", "names"),
    [
        (NoticesSent, ["individuals_on", "hhs_on", "media_on"]),
        (GdprFacts, ["aware_at", "data_subjects", "high_risk", "controller"]),
    ],
)
def test_new_dataclasses_have_the_contracted_fields(cls, names):
    assert [field.name for field in dataclasses.fields(cls)] == names
    assert cls.__dataclass_params__.frozen


def test_notices_sent_and_gdpr_defaults():
    assert NoticesSent() == NoticesSent(individuals_on=None, hhs_on=None, media_on=None)
    assert NoticesSent().dates() == {}
    gdpr = GdprFacts(aware_at=AWARE, data_subjects=3)
    assert (gdpr.high_risk, gdpr.controller) == (None, True)


def test_licensed_facility_states_become_a_frozenset():
    facts = BreachFacts(discovered_on=DAY, affected_total=1, licensed_facility_states={"CA"})

    assert facts.licensed_facility_states == frozenset({"CA"})
    assert isinstance(facts.licensed_facility_states, frozenset)


NAIVE = datetime(2025, 9, 15, 9, 30)
BA = BusinessAssociateFacts(discovered_on=DAY)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"entity_role": "hospital"}, "entity_role"),
        ({"entity_role": "PHR_VENDOR"}, "entity_role"),
        ({"entity_role": "phr_vendor", "business_associate": BA}, "entity_role"),
        ({"entity_role": "phr_related_entity", "business_associate": BA}, "entity_role"),
        ({"entity_role": "third_party_service_provider", "business_associate": BA}, "entity_role"),
        ({"part2_records": "yes"}, "part2_records"),
        ({"part2_records": 1}, "part2_records"),
        ({"licensed_facility_states": "CA"}, "licensed_facility_states"),
        ({"licensed_facility_states": {"California"}}, "licensed_facility_states"),
        ({"licensed_facility_states": {"ca"}}, "licensed_facility_states"),
        ({"licensed_facility_states": None}, "licensed_facility_states"),
        ({"notices_sent": {"hhs_on": DAY}}, "notices_sent"),
        ({"notices_sent": NoticesSent(hhs_on=date(2025, 9, 14))}, "notices_sent.hhs_on"),
        (
            {"notices_sent": NoticesSent(individuals_on=date(2025, 1, 1))},
            "notices_sent.individuals_on",
        ),
        ({"notices_sent": NoticesSent(media_on=date(2024, 9, 15))}, "notices_sent.media_on"),
        ({"gdpr": {"aware_at": AWARE, "data_subjects": 1}}, "gdpr"),
        ({"materiality_determined_on": "2025-09-20"}, "materiality_determined_on"),
        ({"materiality_determined_on": datetime(2025, 9, 20, 9)}, "materiality_determined_on"),
        ({"materiality_determined_on": date(2025, 9, 14)}, "materiality_determined_on"),
    ],
)
def test_bad_regime_facts_name_the_field(kwargs, field):
    arguments = {"discovered_on": DAY, "affected_total": 100, **kwargs}

    with pytest.raises(InvalidFacts) as caught:
        BreachFacts(**arguments)

    assert caught.value.field == field
    assert str(caught.value).startswith(field + ":")


def test_a_notice_on_the_business_associates_discovery_day_is_allowed():
    # The BA discovered on the 10th and the CE learned on the 15th: the earliest knowledge
    # bounds the notice dates.
    facts = BreachFacts(
        discovered_on=None,
        affected_total=10,
        business_associate=BusinessAssociateFacts(discovered_on=date(2025, 9, 10)),
        notices_sent=NoticesSent(individuals_on=date(2025, 9, 10)),
    )

    assert facts.earliest_discovery == date(2025, 9, 10)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"individuals_on": "2025-09-20"}, "notices_sent.individuals_on"),
        ({"hhs_on": datetime(2025, 9, 20, 10)}, "notices_sent.hhs_on"),
        ({"media_on": 20250920}, "notices_sent.media_on"),
    ],
)
def test_notices_sent_dates_are_dates(kwargs, field):
    with pytest.raises(InvalidFacts) as caught:
        NoticesSent(**kwargs)

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"aware_at": NAIVE}, "gdpr.aware_at"),
        ({"aware_at": DAY}, "gdpr.aware_at"),
        ({"aware_at": "2025-09-15T09:30:00+00:00"}, "gdpr.aware_at"),
        ({"data_subjects": 0}, "gdpr.data_subjects"),
        ({"data_subjects": -4}, "gdpr.data_subjects"),
        ({"data_subjects": True}, "gdpr.data_subjects"),
        ({"data_subjects": 2.5}, "gdpr.data_subjects"),
        ({"high_risk": "yes"}, "gdpr.high_risk"),
        ({"controller": None}, "gdpr.controller"),
    ],
)
def test_bad_gdpr_facts_name_the_field(kwargs, field):
    arguments = {"aware_at": AWARE, "data_subjects": 10, **kwargs}

    with pytest.raises(InvalidFacts) as caught:
        GdprFacts(**arguments)

    assert caught.value.field == field
    assert str(caught.value).startswith(field + ":")


def test_obligation_due_at_is_normalised_to_utc_and_serialised():
    plus_two = timezone(timedelta(hours=2))
    obligation = Obligation(
        "supervisory_authority_notice",
        "EU",
        date(2025, 9, 18),
        "GDPR Art. 33(1)",
        "reason",
        due_at=datetime(2025, 9, 18, 11, 30, tzinfo=plus_two),
    )

    assert obligation.due_at == datetime(2025, 9, 18, 9, 30, tzinfo=UTC)
    assert obligation.due_at is not None and obligation.due_at.tzinfo is UTC


def test_obligation_rejects_a_naive_due_at():
    with pytest.raises(ValueError, match="supervisory_authority_notice: due_at"):
        Obligation("supervisory_authority_notice", "EU", DAY, "GDPR Art. 33(1)", "r", due_at=NAIVE)


def test_to_jsonable_gives_due_at_in_iso_8601():
    facts = BreachFacts(
        discovered_on=DAY,
        affected_total=10,
        gdpr=GdprFacts(aware_at=AWARE, data_subjects=10, high_risk=False),
    )

    data = to_jsonable(evaluate(facts))

    sa_notice = [o for o in data["obligations"] if o["kind"] == "supervisory_authority_notice"]
    assert [o["due_at"] for o in sa_notice] == ["2025-09-18T09:30:00+00:00"]
    assert [o["due_on"] for o in sa_notice] == ["2025-09-18"]
