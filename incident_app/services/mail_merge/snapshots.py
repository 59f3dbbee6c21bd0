"""A mailing's template snapshot (issue 20): the batch keeps rendering from the template
version legal approved, whatever happens to letter_templates/ while it runs.

Starting a batch reads each variant's template files (the set its template version hashes:
the template, what it extends/includes/imports, its stylesheets and their fonts), checks they
still hash to the approved version, stores each file in the file store (encrypted, by
SHA-256) and records the manifest {path: SHA-256} in `MailBatch.variants[variant]`. A worker,
on any host sharing the database and the store, loads the files back verified, checks their
version against the approval once more and renders from them (letters.TemplateSnapshot);
once per process and batch, not per chunk. Batches started before snapshots existed have no
manifest and render from disk, stopping when the template changes (chunk_run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from typing import NamedTuple

from incident_app import letters
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.mail_batch import Variant
from incident_app.services.letters.approved import ApprovedLetter
from incident_app.storage import FileStore
from incident_app.storage import StorageError

MANIFEST_KEY = "template_files"  # in MailBatch.variants[variant]: {path: SHA-256}
_KEPT = 8  # loaded snapshots kept per process (a few batches' variants)


class SnapshotUnusable(Exception):
    """The batch's snapshot cannot be rendered from (the message names the file or why)."""


# ---- starting a batch -----------------------------------------------------------------------


class Kept(NamedTuple):
    """One variant's snapshot as stored: the files, and the manifest the batch records."""

    snapshot: letters.TemplateSnapshot
    manifest: dict[str, str]  # {path under letter_templates/: SHA-256 in the file store}


def capture(store: FileStore, approvals: Mapping[Variant, ApprovedLetter]) -> dict[Variant, Kept]:
    """Store each variant's template files, exactly as approved (the proof and every letter of
    the batch are rendered from them). Raises
    InvalidTransition when the files on disk are no longer the approved version (the approval
    is stale: nothing is written to the database), ValidationFailed when the store refuses."""
    kept: dict[Variant, Kept] = {}
    for variant, approved in approvals.items():
        snapshot = letters.TemplateSnapshot(letters.template_files(approved.template_name))
        if snapshot.version != approved.template_version:
            raise InvalidTransition(
                f"{variant.label} letter: the template files changed since legal approved it, "
                "so the approval is stale and the mailing was not started. Regenerate the "
                "letter, have it approved again, then start the mailing."
            )
        try:
            manifest = {path: store.put_bytes(data).sha256 for path, data in snapshot.files.items()}
        except StorageError as error:
            raise ValidationFailed(
                f"The letter template files could not be kept for this mailing: {error} "
                "Nothing was started.",
                field="store",
            ) from error
        kept[variant] = Kept(snapshot, manifest)
    return kept


# ---- a worker -------------------------------------------------------------------------------

_loaded: dict[tuple[str, str], letters.TemplateSnapshot] = {}


def load(
    store: FileStore, variants: Mapping[str, Mapping[str, Any]]
) -> dict[Variant, letters.TemplateSnapshot]:
    """{variant: TemplateSnapshot} of the batch's variants that have one (`MailBatch.variants`);
    loaded from the store once per process (kept by store and version). Raises
    SnapshotUnusable naming a file missing from the store or failing its check, or a version
    that is not the approved one."""
    return {
        Variant(name): _load_one(store, Variant(name), info)
        for name, info in variants.items()
        if MANIFEST_KEY in info
    }


def _load_one(
    store: FileStore, variant: Variant, info: Mapping[str, Any]
) -> letters.TemplateSnapshot:
    manifest: dict[str, str] = info[MANIFEST_KEY]
    approved: str = info["template_version"]
    key = (str(store.root), letters.digests_version(manifest))
    snapshot = _loaded.get(key)
    if snapshot is None:
        files = {path: _read(store, variant, path, sha256) for path, sha256 in manifest.items()}
        try:
            snapshot = letters.TemplateSnapshot(files)
        except letters.SnapshotError as error:
            raise SnapshotUnusable(
                f"The template files kept for the {variant.label.lower()} letter of this "
                f"mailing are not usable: {error}. Cancel this mailing and start a new one."
            ) from error
        if len(_loaded) >= _KEPT:
            _loaded.clear()
        _loaded[key] = snapshot
    if snapshot.version != approved:
        raise SnapshotUnusable(
            f"The template files kept for the {variant.label.lower()} letter of this mailing "
            f"hash to version {snapshot.version[:12]}…, not the approved {approved[:12]}…, so "
            "nothing is rendered from them. Cancel this mailing and start a new one."
        )
    return snapshot


def _read(store: FileStore, variant: Variant, path: str, sha256: str) -> bytes:
    try:
        return store.read_verified(sha256)
    except StorageError as error:
        raise SnapshotUnusable(
            f"The approved template file {path} of the {variant.label.lower()} letter "
            f"(SHA-256 {sha256[:12]}…) could not be read from the file store: {error} Nothing "
            "more is rendered; restore the file store from a backup and resume the mailing, "
            "or cancel it and start a new one."
        ) from error


def forget() -> None:
    """Drop the snapshots loaded by this process (tests; a store restored from a backup)."""
    _loaded.clear()
