"""Properties that must hold for any facts (hypothesis)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate
from incident_app.rules.facts import STATE_CODES

DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
RESIDENTS = st.dictionaries(
    st.sampled_from(sorted(STATE_CODES)), st.integers(min_value=0, max_value=1200), max_size=6
)


@st.composite
def breach_facts(draw):
    residents = draw(RESIDENTS)
    total = sum(residents.values()) + draw(st.integers(min_value=0, max_value=700))
    ba = draw(
        st.none()
        | st.builds(
            lambda found, agent, lag: BusinessAssociateFacts(
                found, agent, None if lag is None else found + timedelta(days=lag)
            ),
            DAYS,
            st.none() | st.booleans(),
            st.none() | st.integers(min_value=0, max_value=120),
        )
    )
    return BreachFacts(
        discovered_on=draw(DAYS if ba is None else st.none() | DAYS),
        affected_total=total,
        residents_by_state=residents,
        insufficient_contact_count=draw(st.integers(min_value=0, max_value=min(total, 20))),
        business_associate=ba,
        law_enforcement_delay=draw(st.none() | delays()),
    )


def delays():
    return st.builds(
        lambda kind, stated, length: LawEnforcementDelay(
            kind, stated, stated + timedelta(days=length) if kind == "written" else None
        ),
        st.sampled_from(["written", "oral"]),
        DAYS,
        st.integers(min_value=0, max_value=200),
    )


@settings(max_examples=300, deadline=None, database=None)
@given(breach_facts())
def test_no_deadline_before_the_treated_discovery(facts):
    result = evaluate(facts)

    for item in result.obligations:
        if item.due_on is None:
            continue
        if item.kind == "ba_to_ce_notice":
            # The BA's own clock runs from its discovery, which may precede the CE's.
            assert item.due_on >= facts.business_associate.discovered_on
        else:
            assert item.due_on >= result.treated_discovery_on


@settings(max_examples=200, deadline=None, database=None)
@given(RESIDENTS, st.integers(min_value=0, max_value=700), DAYS, DAYS)
def test_deadlines_are_monotone_in_the_discovery_date(residents, extra, first, second):
    early, late = sorted((first, second))

    def dues(discovered_on):
        facts = BreachFacts(
            discovered_on=discovered_on,
            affected_total=sum(residents.values()) + extra,
            residents_by_state=residents,
        )
        return {
            (item.kind, item.jurisdiction, item.detail.get("rule_id", "")): item.due_on
            for item in evaluate(facts).obligations
            if item.due_on is not None
        }

    before, after = dues(early), dues(late)
    for key in before.keys() & after.keys():
        assert before[key] <= after[key], key


@settings(max_examples=300, deadline=None, database=None)
@given(breach_facts())
def test_media_notice_states_are_exactly_those_over_500(facts):
    media = {
        item.jurisdiction for item in evaluate(facts).obligations if item.kind == "media_notice"
    }

    assert media == {state for state, count in facts.residents_by_state.items() if count > 500}


@settings(max_examples=200, deadline=None, database=None)
@given(breach_facts())
def test_exactly_one_hhs_obligation_by_the_500_threshold(facts):
    kinds = [item.kind for item in evaluate(facts).obligations if item.kind.startswith("hhs")]

    assert kinds == ["hhs_notice" if facts.affected_total >= 500 else "hhs_annual_log"]


@settings(max_examples=200, deadline=None, database=None)
@given(breach_facts())
def test_every_obligation_has_citation_and_reason(facts):
    for item in evaluate(facts).obligations:
        assert item.citation and item.reason
