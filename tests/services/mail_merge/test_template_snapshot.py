"""Issue 20: a template changed while a batch runs — the batch keeps the approved version it
started with (services/mail_merge/snapshots.py).

Starting a batch keeps the approved template files in the file store; the worker renders every
letter from them, so an edit to letter_templates/ mid-batch reaches none of its letters (a
batch started before snapshots still stops: test_mail_merge_bad_input.py). Bad inputs: a kept
file missing from the store or failing its check, files that are not the approved version,
files on disk that no longer match the approval when the batch starts, a store that refuses
them — each a clear message and nothing recorded.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app import letters
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.letters import batch as letter_batch
from incident_app.letters import templates as letter_templates
from incident_app.letters import versions as template_versions
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import ChunkStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import Variant
from incident_app.models.notification import EmailMessage
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.services.mail_merge import batches
from incident_app.services.mail_merge import chunk_run
from incident_app.services.mail_merge import planning
from incident_app.services.mail_merge import snapshots
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import notifications
from incident_app.storage import FileStore
from incident_app.storage import StoredFile
from tests.letters.samples import individual_context
from tests.services.mail_merge.test_mail_merge_bad_input import FullAfter
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import batch_actions
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import letter_pdf
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker

SECTIONS = "_notice_sections_en.html"
APPROVED, EDITED = "What happened</h2>", "What went wrong</h2>"


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of letter_templates/ the app reads from, to edit (same files, same version)."""
    copy = tmp_path / "letter_templates"
    shutil.copytree(letter_templates.TEMPLATE_DIR, copy)
    monkeypatch.setattr(template_versions, "TEMPLATE_DIR", copy.resolve())
    monkeypatch.setattr(letter_templates.env, "loader", jinja2.FileSystemLoader(copy))
    snapshots.forget()
    return copy


def edit_wording(templates: Path) -> None:
    path = templates / SECTIONS
    path.write_text(path.read_text(encoding="utf-8").replace(APPROVED, EDITED), encoding="utf-8")
    letter_batch._LAYOUTS.clear()  # nothing laid out before the edit is reused after it


class EditsTheWording(FileStore):
    """The app's store; when the first group of letters is stored, someone edits the wording
    on disk."""

    def __init__(self, base: FileStore, templates: Path) -> None:
        super().__init__(base.root, base.keyring)
        self.templates, self.puts = templates, 0

    def put_many(self, datas: Sequence[bytes]) -> list[StoredFile]:
        self.puts += 1
        if self.puts == 1:
            edit_wording(self.templates)
        return super().put_many(datas)


def manifest(batch: MailBatch, variant: str = "adult") -> dict[str, str]:
    return dict(batch.variants[variant][snapshots.MANIFEST_KEY])


def test_a_template_edited_mid_batch_does_not_reach_it(session, people, templates: Path):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(4)))
    approve(session, people, incident)
    batch = start(session, people, incident, chunk_size=2)  # two chunks: the approval is
    store = EditsTheWording(app_store.current_store(), templates)  # re-checked after the edit
    kept = manifest(batch)
    assert {SECTIONS, "letters.css", "individual_adult.html"} <= set(kept)

    assert mail_worker.work(session, worker=worker(store=store)) == 2

    session.refresh(batch)
    assert (batch.status, batch.message) == (BatchStatus.COMPLETED, "")
    rows = batch_letters(session, batch)
    assert [(r.sequence, r.state) for r in rows] == [(n, LetterState.DONE) for n in (1, 2, 3, 4)]
    for row in rows:
        text = letters.pdf_text(letter_pdf(row))
        assert "What happened" in text and "What went wrong" not in text
    # The edit is real: the disk renders it, and the letter's own approval is void now.
    sample = letters.render_html("individual_adult.html", individual_context())
    assert EDITED in sample
    assert planning.approval(session, incident.id, Variant.ADULT) is None


def test_email_notices_of_the_batch_carry_the_approved_wording_too(
    session, people, templates: Path
):
    get_organisation(session).email_notice_enabled = True
    session.commit()
    incident = case_with_roster(
        session, people, adult("Mail", "Me", email="mail.me@example.org", consent="Y")
    )
    approve(session, people, incident)
    start(session, people, incident)
    edit_wording(templates)

    assert mail_worker.work(session, worker=worker()) == 1

    email = session.scalars(sa.select(EmailMessage)).one()
    body = notifications.open_body(app_store.current_keyring(), email.body)
    assert "What happened" in body and "What went wrong" not in body


class CountsReads(FileStore):
    def __init__(self, base: FileStore) -> None:
        super().__init__(base.root, base.keyring)
        self.reads: list[str] = []

    def read_verified(self, sha256: str) -> bytes:
        self.reads.append(sha256)
        return super().read_verified(sha256)


def test_a_worker_loads_the_snapshot_once_not_per_chunk(session, people, templates: Path):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(3)))
    approve(session, people, incident)
    batch = start(session, people, incident, chunk_size=1)
    store = CountsReads(app_store.current_store())

    assert mail_worker.work(session, worker=worker(store=store)) == 3

    kept = set(manifest(batch).values())
    assert sorted(s for s in store.reads if s in kept) == sorted(kept)


def test_starting_keeps_each_variants_files_in_the_store(session, people, templates: Path):
    incident = case_with_roster(session, people, adult("Ana"), adult("Eva", language="es"))
    approve(session, people, incident, "individual_adult.html", "individual_es.html")
    batch = start(session, people, incident)
    store = app_store.current_store()

    for variant in ("adult", "spanish"):
        kept = manifest(batch, variant)
        files = {path: store.read_verified(sha) for path, sha in kept.items()}
        assert files == letters.template_files(Variant(variant).template_name)
        assert letters.digests_version(kept) == batch.variants[variant]["template_version"]


# ---- bad input ------------------------------------------------------------------------------


def assert_failed_with_nothing_recorded(session, batch: MailBatch, *phrases: str) -> None:
    session.refresh(batch)
    assert batch.status is BatchStatus.FAILED
    for phrase in phrases:
        assert phrase in batch.message
    assert batch_actions(session, batch.incident_id)[-1] == "mail_batch.failed"
    assert batch_letters(session, batch) == []
    chunk = session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch.id)).one()
    assert (chunk.status, chunk.print_sha256, chunk.claim_token) == (ChunkStatus.PENDING, None, "")


def test_a_kept_file_missing_from_the_store_fails_the_batch_naming_it(
    session, people, templates: Path
):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    approve(session, people, incident)
    batch = start(session, people, incident)
    store = app_store.current_store()
    assert store.delete(manifest(batch)["letters.css"])

    assert mail_worker.work(session, worker=worker()) == 0

    assert_failed_with_nothing_recorded(
        session, batch, "template file letters.css", "could not be read from the file store"
    )


def test_a_kept_file_failing_its_check_fails_the_batch_naming_it(session, people, templates: Path):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    approve(session, people, incident)
    batch = start(session, people, incident)
    store, kept = app_store.current_store(), manifest(batch)
    # Another file's (valid, encrypted) content under this file's name.
    shutil.copyfile(store.path_for(kept["_base.html"]), store.path_for(kept["letters.css"]))

    assert mail_worker.work(session, worker=worker()) == 0

    assert_failed_with_nothing_recorded(
        session, batch, "template file letters.css", "failed its integrity check"
    )


@pytest.mark.parametrize("change", ["swap", "drop"])
def test_kept_files_that_are_not_the_approved_version_fail_the_batch(
    session, people, templates: Path, change: str
):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    approve(session, people, incident)
    batch = start(session, people, incident)
    kept = manifest(batch)
    if change == "swap":
        kept["letters.css"] = kept["_base.html"]
    else:
        del kept[SECTIONS]
    batch.variants = {"adult": {**batch.variants["adult"], snapshots.MANIFEST_KEY: kept}}
    session.commit()

    assert mail_worker.work(session, worker=worker()) == 0

    assert_failed_with_nothing_recorded(
        session, batch, "adult letter of this mailing hash to version", "not the approved"
    )


def test_a_template_changed_as_the_batch_starts_refuses_it_as_stale(
    session, people, templates: Path, monkeypatch: pytest.MonkeyPatch
):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    approve(session, people, incident)
    read = letters.template_files

    def edited_just_now(name: str) -> dict[str, bytes]:
        edit_wording(templates)  # after the approval was checked, before the files are kept
        return read(name)

    monkeypatch.setattr(letters, "template_files", edited_just_now)

    with pytest.raises(InvalidTransition, match="the approval is stale"):
        start(session, people, incident)

    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0
    assert "mail_batch.started" not in batch_actions(session, incident.id)
    statuses = session.scalars(
        sa.select(RosterPerson.notice_status).where(RosterPerson.incident_id == incident.id)
    )
    assert set(statuses) == {NoticeStatus.PENDING}


def test_a_store_that_refuses_the_files_refuses_the_start(session, people, templates: Path):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    approve(session, people, incident)

    with pytest.raises(ValidationFailed, match="template files could not be kept"):
        batches.start_batch(
            session,
            actor=people.officer,
            now=LATER,
            incident_id=incident.id,
            keyring=app_store.current_keyring(),
            store=FullAfter(app_store.current_store(), room=0),
        )

    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0


def test_a_batch_group_with_a_snapshot_is_not_checked_against_the_disk(
    session, people, templates: Path, monkeypatch: pytest.MonkeyPatch
):
    """The stop-on-change check of batches without a snapshot is not applied to one with."""
    monkeypatch.setattr(chunk_run, "GROUP", 1)
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    approve(session, people, incident)
    batch = start(session, people, incident)
    edit_wording(templates)

    assert mail_worker.work(session, worker=worker()) == 1

    session.refresh(batch)
    assert batch.status is BatchStatus.COMPLETED
