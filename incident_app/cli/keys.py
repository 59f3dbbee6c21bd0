"""`flask keys ...`: make encryption keys, show which key protects what, rotate to a new key.

Rotation without downtime: generate a key, put it FIRST in BREACHDESK_DATA_KEYS with the old
keys after it, restart every process (new writes use the new key, old data stays readable),
run `flask --app wsgi keys rotate`, and only then drop the old keys. `generate` also works
without an app (`python -m incident_app.cli.keys generate`), since production refuses to start
before its keys exist.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from incident_app import clock
from incident_app.app_store import current_keyring
from incident_app.app_store import current_store
from incident_app.cli._common import database_errors_as_messages
from incident_app.crypto import KEY_SIZE
from incident_app.crypto import KeyConfigError
from incident_app.crypto import UnknownKeyError
from incident_app.crypto import generate_key_line
from incident_app.db import get_session
from incident_app.services import audit
from incident_app.services import key_rotation
from incident_app.services.roster import people as roster_people
from incident_app.storage import IntegrityError

keys_group = AppGroup(
    "keys", help="Encryption keys for data at rest: generate, status, rotate, index-roster."
)
PROGRESS_EVERY = 100


@click.command("generate")
@click.option("--id", "key_id", default=None, help="Key id (default: k<YYYYMMDD>, today in UTC).")
@click.option(
    "--index",
    "index_key",
    is_flag=True,
    help="Print a blind-index key for BREACHDESK_INDEX_KEY instead.",
)
def generate_command(key_id: str | None, index_key: bool) -> None:
    """Print a new key (nothing is stored anywhere)."""
    if index_key:
        click.echo(generate_key_line("index").partition(":")[2])
        click.echo(
            f"Set BREACHDESK_INDEX_KEY to this {KEY_SIZE}-byte key. Changing it later "
            "means recomputing every blind index.",
            err=True,
        )
        return
    try:
        line = generate_key_line(key_id or f"k{clock.utcnow():%Y%m%d}")
    except KeyConfigError as error:
        raise click.ClickException(str(error)) from error
    click.echo(line)
    click.echo(
        "Put this entry FIRST in BREACHDESK_DATA_KEYS (comma-separated), keep the current "
        "keys after it, restart every process, then run `flask --app wsgi keys rotate`.",
        err=True,
    )


keys_group.add_command(generate_command)


@keys_group.command("status")
def status_command() -> None:
    """Show the key ids, the primary, and how many stored files each key protects."""
    ring = current_keyring()
    store = current_store(ring)
    click.echo(
        f"Data keys ({ring.source.data_keys}): "
        + ", ".join(f"{k} (primary)" if k == ring.primary_id else k for k in ring.key_ids)
    )
    click.echo(f"Blind-index key: {ring.source.index_key}")
    counts = store.count_by_key()
    click.echo(f"Stored files in {store.root}: {sum(counts.values())}")
    for key_id, count in sorted(counts.items()):
        note = "" if ring.has_key(key_id) or key_id == "damaged" else "  (key NOT in the ring)"
        click.echo(f"  {key_id}: {count}{note}")
    names = [name for name, _rotate in key_rotation.ROTATIONS]
    click.echo("Database re-encryption hooks: " + (", ".join(names) or "none"))
    behind = sum(count for key_id, count in counts.items() if key_id != ring.primary_id)
    if behind:
        click.echo(
            f"{behind} file(s) are not under the primary key: run `flask --app wsgi keys rotate`."
        )


@keys_group.command("rotate")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per database transaction in the re-encryption hooks.",
)
@database_errors_as_messages
def rotate_command(batch_size: int) -> None:
    """Re-encrypt every stored file and database value to the primary key.

    Safe to interrupt and re-run: each file is replaced atomically and each hook commits per
    batch, and the old keys still read whatever was not done yet.
    """
    ring = current_keyring()
    click.echo(f"Re-encrypting to the primary key {ring.primary_id}.")
    try:
        report = key_rotation.rotate_all(
            get_session(),
            ring,
            store=current_store(ring),
            clock=clock.utcnow,
            actor_label="system (cli)",
            batch_size=batch_size,
            progress=_EchoProgress(),
        )
    except key_rotation.RotationStopped as stopped:
        raise click.ClickException(
            f"{stopped.cause} Stopped after {stopped.checked} of {stopped.total} files; every "
            "file is still readable. Re-run `flask --app wsgi keys rotate` to continue."
        ) from stopped
    _print_report(ring.primary_id, report)


@keys_group.command("index-roster")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per database transaction.",
)
@database_errors_as_messages
def index_roster_command(batch_size: int) -> None:
    """Make the name + date-of-birth blind index (how an inquiry finds a caller without a
    letter code) for roster rows imported before it existed. Safe to interrupt and re-run."""
    session = get_session()
    indexed = roster_people.index_lookups(session, current_keyring(), batch_size)
    audit.record(
        session,
        actor=None,
        action="roster.lookups_indexed",
        at=clock.utcnow(),
        actor_label="system (cli)",
        details={"rows": indexed},
    )
    session.commit()
    click.echo(f"{indexed} roster row(s) indexed by name and date of birth.")


def _print_report(primary_id: str, report: key_rotation.RotationReport) -> None:
    files = report.files
    click.echo(
        f"Done. Files: {files.reencrypted} re-encrypted, "
        f"{files.checked - files.reencrypted - len(files.failed)} already under "
        f"{primary_id}, {len(files.failed)} failed."
    )
    for name, count in report.rows.items():
        click.echo(f"Database ({name}): {count} value(s) re-encrypted.")
    if files.failed:
        raise click.ClickException(
            f"{len(files.failed)} file(s) could not be re-encrypted and were left as they were: "
            f"{', '.join(files.failed)}. See the messages above."
        )
    click.echo(
        f"Everything is under {primary_id}; older keys can be removed from "
        "BREACHDESK_DATA_KEYS once every process runs with the new ring."
    )


class _EchoProgress:
    """key_rotation.RotationProgress, printed."""

    def file_checked(self, checked: int, total: int, reencrypted: int) -> None:
        if checked % PROGRESS_EVERY == 0 or checked == total:
            click.echo(f"  files: {checked}/{total} checked, {reencrypted} re-encrypted")

    def file_failed(self, sha256: str, error: IntegrityError | UnknownKeyError) -> None:
        click.echo(f"  ! {error}", err=True)

    def table_started(self, name: str) -> None:
        click.echo(f"  database: {name} ...")


if __name__ == "__main__":
    click.Group("keys", commands=[generate_command])()
