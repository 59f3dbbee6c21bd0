"""Issue 20, bad input, besides what test_mail_merge_worker.py covers (a name refused before
rendering, a voided approval, the store full while the letters are written) and the SIGKILL
tests of tests/jobs/test_mail_merge_job.py:

- a recipient the renderer itself refuses: the rest of its group still prints, it alone gets
  the reason;
- the letter template changes on disk while a chunk of a batch started before template
  snapshots renders (the renderer reloads edited templates): the group rendered since is not
  recorded and the batch stops, so every letter recorded comes from the approved version (a
  batch with a snapshot keeps printing the approved version: test_template_snapshot.py);
- the file store fills up when the chunk's print file is written (the letters fit, the
  combined file does not). The write fails in the kernel (a store whose files go to
  /dev/full: a real ENOSPC through the store's own write path); the batch stops with a
  message a person can act on, nothing half-written stays behind, and a resume finishes the
  chunk without rendering any letter again.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app import letters as letter_pdfs
from incident_app.letters import templates as letter_templates
from incident_app.letters import versions as template_versions
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import ChunkStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import Route
from incident_app.models.mail_batch import Variant
from incident_app.services.mail_merge import batches
from incident_app.services.mail_merge import chunk_run
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.mail_merge.pdfs import render_all
from incident_app.services.mail_merge.planning import Entry
from incident_app.storage import FileStore
from incident_app.storage import Readable
from incident_app.storage import StoredFile
from tests.letters.samples import individual_context
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import batch_actions
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker


class FullAfter(FileStore):
    """The app's store, on a disk with room for `room` more files: after that, every file's
    bytes go to /dev/full, whose writes fail with ENOSPC."""

    def __init__(self, base: FileStore, room: int) -> None:
        super().__init__(base.root, base.keyring)
        self.room = room

    def _encrypt_into(self, temp: object, source: Readable, *, max_bytes: int | None) -> StoredFile:
        if self.room <= 0:
            full = os.open("/dev/full", os.O_WRONLY)
            os.dup2(full, temp._fd)  # type: ignore[attr-defined]  # the temp file's descriptor
            os.close(full)
        self.room -= 1
        return super()._encrypt_into(temp, source, max_bytes=max_bytes)  # type: ignore[arg-type]


def stored_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()}


def test_a_full_store_at_the_print_file_stops_the_batch_and_leaves_nothing_half_written(
    session, people
):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(3)))
    approve(session, people, incident)
    batch = start(session, people, incident)
    store = app_store.current_store()
    before = stored_files(store.root)

    assert mail_worker.work(session, worker=worker(store=FullAfter(store, room=3))) == 0

    session.refresh(batch)
    assert batch.status is BatchStatus.FAILED
    assert "The print file of chunk 1 could not be written" in batch.message
    assert "the disk is full" in batch.message and "Nothing was stored" in batch.message
    assert batch_actions(session, incident.id)[-1] == "mail_batch.failed"
    chunk = session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch.id)).one()
    assert (chunk.status, chunk.print_sha256, chunk.manifest_sha256) == (
        ChunkStatus.PENDING,
        None,
        None,
    )
    letters = batch_letters(session, batch)
    assert [r.state for r in letters] == [LetterState.DONE] * 3  # recorded before, complete
    # On disk: the three letters and nothing else — no temporary file, no partial print file.
    assert stored_files(store.root) - before == {f"{r.sha256}.bin" for r in letters}

    batches.resume(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    assert mail_worker.work(session, worker=worker()) == 1
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
    again = batch_letters(session, batch)
    assert [(r.sha256, r.attempts) for r in again] == [(r.sha256, 1) for r in letters]
    session.refresh(chunk)
    printed = PdfReader(io.BytesIO(app_store.read_verified(chunk.print_sha256 or "")))
    assert len(printed.pages) == sum(r.page_count or 0 for r in again) and chunk.letters == 3


def test_a_recipient_the_renderer_refuses_fails_alone_and_the_group_goes_on() -> None:
    common = {k: v for k, v in individual_context().items() if k != "recipient"}

    def recipient(letter_id: str, name: str) -> letter_pdfs.RecipientContext:
        return {"letter_id": letter_id, "name": name, "address_lines": ["12 Elm St"]}

    items = [
        (Entry(1, 11, Route.MAIL, Variant.ADULT), recipient("ACME-1", "Ana Rivera")),
        # The renderer checks every recipient (letters.validation) and refuses this letter
        # id, stopping the fast batch path for the whole group.
        (Entry(2, 12, Route.MAIL, Variant.ADULT), recipient("acme 2", "Bo Rivera")),
        (Entry(3, 13, Route.MAIL, Variant.ADULT), recipient("ACME-3", "Cy Rivera")),
    ]
    results = list(render_all("individual_adult.html", common, items))

    assert [result.entry.sequence for result in results] == [1, 2, 3]  # one each, in order
    first, refused, third = (result.pdf for result in results)
    assert refused is None and results[1].parts is None
    assert results[1].reason.startswith(
        "The letter could not be laid out: Letter id 'acme 2' must be"
    )
    assert first and third and results[0].pages >= 1
    # The letters rendered come with the parts they were written from (for the print file).
    assert results[0].parts is not None and results[2].parts is not None
    assert "Ana Rivera" in letter_pdfs.pdf_text(first)
    assert "Cy Rivera" in letter_pdfs.pdf_text(third)


class EditsTheTemplate(FileStore):
    """The app's store; when the letters of the second group are stored (the first group is
    recorded, the second rendered), someone edits the letter template on disk."""

    def __init__(self, base: FileStore, template: Path) -> None:
        super().__init__(base.root, base.keyring)
        self.template, self.puts = template, 0

    def put_many(self, datas: Sequence[bytes]) -> list[StoredFile]:
        self.puts += 1  # a group's letters are stored together
        if self.puts == 2:
            with self.template.open("a", encoding="utf-8") as edited:
                edited.write("\n{# an edit after the approval #}\n")
        return super().put_many(datas)


def test_a_template_edited_while_a_batch_without_snapshot_renders_is_never_recorded(
    session, people, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    templates = tmp_path / "letter_templates"  # a copy to edit: the same files, same version
    shutil.copytree(letter_templates.TEMPLATE_DIR, templates)
    monkeypatch.setattr(template_versions, "TEMPLATE_DIR", templates.resolve())
    monkeypatch.setattr(letter_templates.env, "loader", jinja2.FileSystemLoader(templates))
    monkeypatch.setattr(chunk_run, "GROUP", 2)  # two groups of two letters in the chunk
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(4)))
    approve(session, people, incident)
    batch = start(session, people, incident)
    # A batch started before issue 20's snapshots: no template files kept in its row.
    batch.variants = {
        name: {k: v for k, v in info.items() if k != "template_files"}
        for name, info in batch.variants.items()
    }
    session.commit()
    store = EditsTheTemplate(app_store.current_store(), templates / "individual_adult.html")

    assert mail_worker.work(session, worker=worker(store=store)) == 0

    session.refresh(batch)
    assert batch.status is BatchStatus.FAILED
    assert "The letter template changed while this mailing ran" in batch.message
    assert batch_actions(session, incident.id)[-1] == "mail_batch.failed"
    recorded = batch_letters(session, batch)
    assert [(r.sequence, r.state) for r in recorded] == [
        (1, LetterState.DONE),
        (2, LetterState.DONE),
    ]
    chunk = session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch.id)).one()
    assert (chunk.status, chunk.print_sha256) == (ChunkStatus.PENDING, None)
