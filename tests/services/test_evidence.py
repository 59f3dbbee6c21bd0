"""Evidence: allow-list by extension and content, size limit, duplicates, custody, reads."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app import storage
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.evidence import CustodyAction
from incident_app.models.evidence import CustodyEvent
from incident_app.models.evidence import EvidenceFile
from incident_app.models.incident import CaseRole
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.services import evidence
from incident_app.services.evidence import Upload
from incident_app.services.evidence import sanitise_filename
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
LIMIT = 64 * 1024


@pytest.fixture
def store(app, tmp_path):
    with app.app_context():
        return storage.FileStore(tmp_path / "store", app_store.current_keyring())


@pytest.fixture
def case(session):
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    responder = make_user(session, role=Role.RESPONDER)
    auditor = make_user(session, role=Role.AUDITOR)
    incident = make_incident(session, created_by=officer, members={responder: CaseRole.RESPONDER})
    return responder, auditor, incident


def _upload(session, store, actor, incident, name, data, limit=LIMIT):
    return evidence.upload_evidence(
        session,
        actor=actor,
        incident_id=incident.id,
        upload=Upload(name, io.BytesIO(data)),
        description="Police report",
        now=NOW,
        store=store,
        max_bytes=limit,
    )


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_an_upload_is_stored_by_hash_with_custody_timeline_and_audit(session, store, case):
    responder, _, incident = case

    result = _upload(session, store, responder, incident, "report.pdf", PDF)

    digest = hashlib.sha256(PDF).hexdigest()
    assert (result.evidence.sha256, result.evidence.size_bytes, result.duplicate) == (
        digest,
        len(PDF),
        False,
    )
    assert result.evidence.content_type == "application/pdf"
    assert store.read_verified(digest) == PDF
    assert [c.action for c in result.evidence.custody] == [CustodyAction.UPLOADED]
    assert session.scalar(
        sa.select(TimelineEntry.text).where(TimelineEntry.kind == EntryKind.FILE)
    ).startswith("File added: report.pdf (50 bytes")
    assert session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.seq.desc())) == (
        "evidence.uploaded"
    )


def test_the_same_bytes_again_are_recognised_as_a_duplicate(session, store, case):
    responder, _, incident = case
    first = _upload(session, store, responder, incident, "report.pdf", PDF)

    again = _upload(session, store, responder, incident, "copy of report.pdf", PDF)

    assert again.duplicate and again.evidence.id == first.evidence.id
    assert _count(session, EvidenceFile) == 1
    assert [
        (c.action, c.filename)
        for c in session.scalars(sa.select(CustodyEvent).order_by(CustodyEvent.id))
    ] == [
        (CustodyAction.UPLOADED, "report.pdf"),
        (CustodyAction.UPLOADED_AGAIN, "copy of report.pdf"),
    ]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("tool.exe", b"MZ\x90\x00", "Files of type .exe are not accepted"),
        ("README", b"hello", "without an extension are not accepted"),
        ("invoice.pdf", b"MZ\x90\x00 renamed executable", "not a .pdf file"),
        ("photo.png", b"\xff\xd8\xff\xe0 a jpeg", "not a .png file"),
        ("notes.txt", b"\x00\x01binary", "not a .txt file"),
        ("empty.pdf", b"", "The file is empty"),
        ("big.pdf", PDF + b"x" * LIMIT, "larger than the limit of 0.0625 MB"),
    ],
)
def test_forbidden_or_oversized_files_are_refused_and_nothing_is_stored(
    session, store, case, name, data, message
):
    responder, _, incident = case

    with pytest.raises(ValidationFailed, match=message) as error:
        _upload(session, store, responder, incident, name, data)

    assert error.value.field == "file"
    session.rollback()
    assert _count(session, EvidenceFile) == 0 and _count(session, CustodyEvent) == 0
    assert list(store.iter_hashes()) == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\x\\scan 1.pdf", "scan 1.pdf"),
        ("..hidden.pdf", "hidden.pdf"),
        ("rapport<script>.pdf", "rapport_script_.pdf"),
        ("ｆｕｌｌｗｉｄｔｈ.pdf", "fullwidth.pdf"),
        ("", "file"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_file_names_are_sanitised(raw, clean):
    assert sanitise_filename(raw) == clean


def test_a_download_is_verified_logged_and_audited(session, store, case):
    responder, auditor, incident = case
    stored = _upload(session, store, responder, incident, "report.pdf", PDF).evidence

    item, chunks = evidence.open_download(
        session, actor=auditor, incident_id=incident.id, evidence_id=stored.id, now=NOW, store=store
    )

    assert b"".join(chunks) == PDF
    assert [
        c.action for c in session.scalars(sa.select(CustodyEvent).order_by(CustodyEvent.id))
    ] == [CustodyAction.UPLOADED, CustodyAction.DOWNLOADED]
    event = session.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()))
    assert (event.action, event.actor_id) == ("evidence.downloaded", auditor.id)


def test_a_tampered_file_is_not_sent_and_the_download_is_not_logged(session, store, case):
    responder, _, incident = case
    stored = _upload(session, store, responder, incident, "report.pdf", PDF).evidence
    other = store.put_bytes(b"%PDF-1.7 something else")
    store.path_for(stored.sha256).write_bytes(store.path_for(other.sha256).read_bytes())

    with pytest.raises(evidence.EvidenceDamaged, match="failed its integrity check"):
        evidence.open_download(
            session,
            actor=responder,
            incident_id=incident.id,
            evidence_id=stored.id,
            now=NOW,
            store=store,
        )
    session.rollback()

    assert _count(session, CustodyEvent) == 1


def test_auditors_cannot_upload_and_outsiders_cannot_see(session, store, case):
    responder, auditor, incident = case
    outsider = make_user(session, role=Role.RESPONDER)

    with pytest.raises(NotAllowed):
        _upload(session, store, auditor, incident, "report.pdf", PDF)
    with pytest.raises(NotFound):
        evidence.evidence_of(session, actor=outsider, incident_id=incident.id)
