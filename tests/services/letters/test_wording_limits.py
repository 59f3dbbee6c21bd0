"""Issue 24: notice wording limited to what a letter can hold; nothing half-written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.letter import NoticeWording
from incident_app.models.user import Role
from incident_app.services.letters import notice_wording
from incident_app.services.letters.notice_wording import LINE_MAX
from incident_app.services.letters.notice_wording import LIST_MAX_CHARS
from incident_app.services.letters.notice_wording import LIST_MAX_LINES
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case

GOOD = {
    "what_happened": "A laptop was stolen.",
    "steps_for_individuals": "Watch your statements.",
    "what_we_are_doing": "Encrypting laptops.",
}


@pytest.fixture
def officer_case(session):
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    legal = make_user(session, role=Role.LEGAL)
    return officer, breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})


def _save(session, officer, case, **values):
    return notice_wording.save_wording(
        session, actor=officer, now=NOW, incident_id=case.id, values={**GOOD, **values}
    )


HUGE = "x" * 1_000_000
LIST_FIELDS = [
    "phi_types",
    "steps_for_individuals",
    "what_we_are_doing",
    "substitute_areas",
    "es_phi_types",
    "es_steps_for_individuals",
    "es_what_we_are_doing",
]


@pytest.mark.parametrize("field", LIST_FIELDS)
@pytest.mark.parametrize(
    ("value", "words"),
    [
        (HUGE, "Too long for a letter"),
        ("\n".join(["item"] * (LIST_MAX_LINES + 1)), f"at most {LIST_MAX_LINES} items"),
        ("y" * (LINE_MAX + 1), f"under {LINE_MAX} characters"),
        ("\n".join(["z" * 400] * 8), f"under {LIST_MAX_CHARS} characters"),
    ],
    ids=["1e6-chars", "too-many-lines", "long-line", "too-long-in-all"],
)
def test_each_list_field_is_limited_and_nothing_is_written(
    session, officer_case, field, value, words
) -> None:
    officer, case = officer_case
    _save(session, officer, case)
    events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    with pytest.raises(ValidationFailed, match=words) as raised:
        _save(session, officer, case, what_happened="Changed.", **{field: value})

    session.rollback()
    assert raised.value.field == field
    stored = session.scalars(sa.select(NoticeWording)).one()
    assert stored.what_happened == "A laptop was stolen."  # the valid field was not saved either
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events


@pytest.mark.parametrize(
    ("field", "limit"), [("media_contact", 300), ("contact_phone", 40), ("what_happened", 5000)]
)
def test_short_texts_are_limited(session, officer_case, field, limit) -> None:
    officer, case = officer_case

    with pytest.raises(ValidationFailed, match=f"under {limit} characters"):
        _save(session, officer, case, **{field: "q" * (limit + 1)})


def test_a_letter_sized_list_at_the_limits_is_accepted(session, officer_case) -> None:
    officer, case = officer_case
    lines = ["w" * (LIST_MAX_CHARS // LIST_MAX_LINES)] * LIST_MAX_LINES

    saved = _save(session, officer, case, steps_for_individuals="\n".join(lines))

    assert saved.steps_for_individuals == lines
