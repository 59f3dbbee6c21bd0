"""Importing the vendor's codes: stored encrypted with a blind index, the offer on the pool,
audited; every bad file refused whole with a message naming the rows, nothing written."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.crypto import KeyRing
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.enrolment import CodePool
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentMember
from incident_app.models.user import Role
from incident_app.services.enrolment import codes as code_crypto
from incident_app.services.key_rotation import ROTATIONS
from tests.support.enrolment_helpers import OFFER
from tests.support.enrolment_helpers import codes_csv
from tests.support.enrolment_helpers import fresh_codes
from tests.support.enrolment_helpers import import_codes
from tests.support.enrolment_helpers import pool_counts
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case


@pytest.fixture
def incident(session, people):
    return breach_case(session, officer=people.officer, members={people.legal: CaseRole.LEGAL})


def _imported_events(session) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "enrolment.codes_imported")
        )
        or 0
    )


def test_codes_are_imported_encrypted_with_the_offer_and_audited(session, people, incident):
    codes = fresh_codes(5)

    record = import_codes(session, people.officer, incident, [f" {codes[0].lower()} ", *codes[1:]])

    assert record.codes == 5 and len(record.file_sha256) == 64
    pool = session.scalar(sa.select(CodePool).where(CodePool.incident_id == incident.id))
    assert (pool.vendor, pool.offer_months, pool.enrol_by) == (
        "Experian",
        24,
        date(2026, 12, 31),
    )
    rows = list(session.scalars(sa.select(EnrolmentCode).order_by(EnrolmentCode.id)))
    keyring = app_store.current_keyring()
    assert [code_crypto.reveal(keyring, r) for r in rows] == codes  # normalised: capitals
    assert all(codes[0].encode() not in r.code for r in rows)  # ciphertext, not the code
    assert [r.row_number for r in rows] == [2, 3, 4, 5, 6]
    assert all(r.assigned_at is None and r.person_id is None for r in rows)
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "enrolment.codes_imported")
    ).one()
    assert event.details["codes"] == 5 and event.details["new_pool"] is True
    assert codes[0] not in str(event.details)  # the audit trail holds no code


def test_a_second_file_adds_to_the_pool_and_may_change_the_offer(session, people, incident):
    import_codes(session, people.officer, incident, fresh_codes(3))
    longer = dataclasses.replace(OFFER, months=36)

    import_codes(session, people.officer, incident, fresh_codes(2), offer=longer)

    assert pool_counts(session) == (1, 2, 5)
    pool = session.scalar(sa.select(CodePool).where(CodePool.incident_id == incident.id))
    assert pool.offer_months == 36


def test_a_file_without_a_header_and_one_column_is_read_as_codes(session, people, incident):
    codes = fresh_codes(2)

    assert import_codes(session, people.officer, incident, "\n".join(codes).encode()).codes == 2


BAD_FILES = [
    (b"", "The file is empty: it has no codes."),
    (b"\n \n", "The file is empty: it has no codes."),
    (b"code\n", "The file has a header but no codes."),
    ("code\nABCD1234\nCAFÉ1234\n".encode("latin-1"), "not UTF-8 text (line 3"),
    (b"code\nAB\nABCD1234\nabc def ghi\n", "Rows 2, 4 are not an enrollment code"),
    (b"name,serial\nA,ABCD1234\n", "Name the column that holds the codes 'code'"),
]


@pytest.mark.parametrize(("data", "message"), BAD_FILES)
def test_a_bad_file_is_refused_whole(session, people, incident, data, message):
    with pytest.raises(ValidationFailed, match=re.escape(message)) as refused:
        import_codes(session, people.officer, incident, data)

    assert refused.value.field == "file"
    assert pool_counts(session) == (0, 0, 0) and _imported_events(session) == 0


def test_a_file_repeating_codes_is_refused_naming_the_rows(session, people, incident):
    a, b, c = fresh_codes(3)

    with pytest.raises(ValidationFailed) as refused:
        import_codes(session, people.officer, incident, [a, b, a.lower(), c, b])

    assert str(refused.value).startswith(
        "The file repeats codes: row 4 repeats row 2, row 6 repeats row 3."
    )
    assert pool_counts(session) == (0, 0, 0) and _imported_events(session) == 0


def test_codes_already_in_the_pool_are_refused_naming_the_rows(session, people, incident):
    first = fresh_codes(3)
    import_codes(session, people.officer, incident, first)
    before = pool_counts(session)
    longer = dataclasses.replace(OFFER, months=36)

    with pytest.raises(ValidationFailed) as refused:
        import_codes(session, people.officer, incident, [*fresh_codes(2), first[1]], offer=longer)

    assert "Row 4 is already in this incident's pool" in str(refused.value)
    assert pool_counts(session) == before == (1, 1, 3) and _imported_events(session) == 1
    pool = session.scalar(sa.select(CodePool).where(CodePool.incident_id == incident.id))
    assert pool.offer_months == 24  # the offer did not change either


def test_codes_imported_for_another_incident_are_refused(session, people, incident):
    other = breach_case(session, officer=people.officer)
    codes = fresh_codes(2)
    import_codes(session, people.officer, other, codes)

    with pytest.raises(ValidationFailed, match="Row 2 is already imported for another incident"):
        import_codes(session, people.officer, incident, codes[:1])

    assert pool_counts(session) == (1, 1, 2)


def test_a_file_over_the_limit_is_refused(session, people, incident):
    data = codes_csv(fresh_codes(2000))

    with pytest.raises(ValidationFailed, match="The file is larger than 0 MB; split it"):
        import_codes(session, people.officer, incident, data, max_bytes=len(data) - 1)

    assert pool_counts(session) == (0, 0, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"enrol_by": date(2026, 3, 1)}, "enrol_by"),
        ({"url": "http://insecure.example"}, "url"),
        ({"phone": "call us"}, "phone"),
        ({"months": 0}, "months"),
        ({"vendor": " "}, "vendor"),
    ],
)
def test_a_bad_offer_is_refused_before_the_file_is_read(session, people, incident, change, field):
    with pytest.raises(ValidationFailed) as refused:
        import_codes(
            session,
            people.officer,
            incident,
            fresh_codes(1),
            offer=dataclasses.replace(OFFER, **change),
        )

    assert refused.value.field == field and pool_counts(session) == (0, 0, 0)


def test_only_a_privacy_officer_imports_and_a_stranger_gets_404(session, people, incident):
    responder = make_user(session, role=Role.RESPONDER)
    stranger = make_user(session, role=Role.RESPONDER)
    session.add(
        IncidentMember(incident_id=incident.id, user_id=responder.id, case_role=CaseRole.RESPONDER)
    )
    session.commit()

    with pytest.raises(NotAllowed):
        import_codes(session, responder, incident, fresh_codes(1))
    with pytest.raises(NotFound):
        import_codes(session, stranger, incident, fresh_codes(1))
    assert pool_counts(session) == (0, 0, 0)


def test_key_rotation_re_encrypts_the_codes(session, people, incident):
    codes = fresh_codes(3)
    import_codes(session, people.officer, incident, codes)
    old = app_store.current_keyring()
    primary, index_key = old.material()
    new = KeyRing([("k-new", bytes(range(1, 33))), *primary], index_key)

    assert ("enrolment_codes", code_crypto.rotate_codes) in ROTATIONS
    assert code_crypto.rotate_codes(session, new, 2) == 3
    assert code_crypto.rotate_codes(session, new, 2) == 0
    session.expire_all()
    rows = list(session.scalars(sa.select(EnrolmentCode).order_by(EnrolmentCode.id)))
    assert all(not new.needs_rotation(r.code) for r in rows)
    assert [code_crypto.reveal(new, r) for r in rows] == codes
