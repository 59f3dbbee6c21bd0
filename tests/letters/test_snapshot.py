"""Template snapshots (issue 20): a mail merge renders from the approved template files held in
memory, not from letter_templates/ on disk, and the fetcher serves nothing outside them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2
import pytest

from incident_app import letters
from incident_app.letters import TemplateFilesOnly
from incident_app.letters import TemplateSnapshot
from incident_app.letters import URLRefused
from incident_app.letters import batch as letter_batch
from incident_app.letters import glyphs
from incident_app.letters import templates as letter_templates
from tests.letters.samples import individual_context

COMMON = {key: value for key, value in individual_context().items() if key != "recipient"}
RECIPIENT = {"letter_id": "SNAP-1", "name": "Ana Rivera", "address_lines": ["1 Elm St", "Troy"]}
ROOT = letters.TEMPLATE_DIR.as_uri()


def adult_snapshot(changes: dict[str, tuple[str, str]] | None = None) -> TemplateSnapshot:
    """The adult notice's files, with {path: (old, new)} text replacements."""
    files = letters.template_files("individual_adult.html")
    for path, (old, new) in (changes or {}).items():
        text = files[path].decode()
        assert old in text
        files[path] = text.replace(old, new).encode()
    return TemplateSnapshot(files)


def test_the_files_of_a_template_are_the_ones_its_version_hashes() -> None:
    for name in sorted(letters.MERGE_TEMPLATES):
        files = letters.template_files(name)

        assert TemplateSnapshot(files).version == letters.template_version(name)
        assert {"letters.css", "_base.html", name, "fonts/NotoSans-Regular.ttf"} <= set(files)
        assert files["letters.css"] == (letters.TEMPLATE_DIR / "letters.css").read_bytes()


def test_the_version_of_a_manifest_is_the_version_of_its_files() -> None:
    snapshot = TemplateSnapshot(letters.template_files("individual_es.html"))
    manifest = {path: hashlib.sha256(data).hexdigest() for path, data in snapshot.files.items()}

    assert letters.digests_version(manifest) == snapshot.version


@pytest.mark.parametrize("name", ["../config.py", "/etc/passwd", "fonts/../../x", "a//b", ""])
def test_a_snapshot_path_outside_the_templates_is_refused(name: str) -> None:
    with pytest.raises(letters.SnapshotError):
        TemplateSnapshot({name: b"x"})


def test_a_batch_from_a_snapshot_prints_what_a_render_from_disk_prints() -> None:
    snapshot = adult_snapshot()
    [(_, from_disk)] = letters.render_batch("individual_adult.html", COMMON, [RECIPIENT])
    [(_, from_snapshot)] = letters.render_batch(
        "individual_adult.html", COMMON, [RECIPIENT], snapshot=snapshot
    )

    assert letters.pdf_text(from_snapshot) == letters.pdf_text(from_disk)


def test_templates_and_stylesheets_come_from_the_snapshot_not_the_disk() -> None:
    snapshot = adult_snapshot(
        {
            "_base.html": (
                "</head>",
                "<style>body::after { content: 'SNAPSHOT TAIL'; }</style></head>",
            ),
            "letters.css": ("/* Letter stylesheet", "body::before { content: 'CSS HERE'; }\n/*"),
        }
    )

    [(_, pdf)] = letters.render_batch(
        "individual_adult.html", COMMON, [RECIPIENT], snapshot=snapshot
    )
    [(_, disk)] = letters.render_batch("individual_adult.html", COMMON, [RECIPIENT])

    assert snapshot.version != letters.template_version("individual_adult.html")
    assert "SNAPSHOT TAIL" in letters.pdf_text(pdf) and "CSS HERE" in letters.pdf_text(pdf)
    assert "SNAPSHOT TAIL" not in letters.pdf_text(disk) and "CSS HERE" not in letters.pdf_text(
        disk
    )
    html = letters.render_html(
        "individual_adult.html", {**COMMON, "recipient": RECIPIENT}, snapshot=snapshot
    )
    assert "SNAPSHOT TAIL" in html


def test_the_shared_layout_is_kept_per_snapshot_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(letter_batch, "_LAYOUTS", {})
    edited = adult_snapshot(
        {"_base.html": ("</head>", "<style>body::after { content: 'V2'; }</style></head>")}
    )
    plain = adult_snapshot()

    first = letter_batch.shared_layout("individual_adult.html", COMMON, plain)
    second = letter_batch.shared_layout("individual_adult.html", COMMON, edited)

    assert first is not second
    assert "V2" in letters.pdf_text(second["base_pdf"])
    assert "V2" not in letters.pdf_text(first["base_pdf"])
    assert letter_batch.shared_layout("individual_adult.html", COMMON, plain) is first


def test_a_template_the_snapshot_lacks_is_a_render_error_naming_it() -> None:
    files = letters.template_files("individual_adult.html")
    del files["_macros.html"]

    with pytest.raises(letters.LetterRenderError, match="_macros.html"):
        letters.render_html(
            "individual_adult.html",
            {**COMMON, "recipient": RECIPIENT},
            snapshot=TemplateSnapshot(files),
        )


# ---- the fetcher with a snapshot ------------------------------------------------------------


def test_the_fetcher_serves_the_snapshot_bytes_not_the_disk() -> None:
    snapshot = TemplateSnapshot({"letters.css": b"/* kept */", "fonts/a.ttf": b"\x00\x01"})
    fetcher = TemplateFilesOnly(snapshot=snapshot)

    css = fetcher.fetch(ROOT + "/letters.css")
    assert (css.read(), css.content_type) == (b"/* kept */", "text/css")
    assert fetcher.fetch(ROOT + "/fonts/a.ttf").read() == b"\x00\x01"
    assert fetcher.fetch(ROOT + "/fonts/../letters.css").read() == b"/* kept */"


@pytest.mark.parametrize(
    "url",
    [
        ROOT + "/_base.html",  # on disk, but not in this snapshot
        ROOT + "/fonts/NotoSans-Regular.ttf",
        ROOT + "/../config.py",
        ROOT + "/%2e%2e/config.py",
        ROOT + "/fonts/../../letters.css",
        ROOT,
        "file:///etc/passwd",
        "file://evil.example" + letters.TEMPLATE_DIR.as_posix() + "/letters.css",
        "http://127.0.0.1:9/letters.css",
        "letters.css",
    ],
)
def test_the_fetcher_refuses_anything_outside_the_snapshot(url: str) -> None:
    fetcher = TemplateFilesOnly(snapshot=TemplateSnapshot({"letters.css": b"/* kept */"}))

    with pytest.raises(URLRefused):
        fetcher.fetch(url)


def test_a_snapshot_render_never_reads_the_template_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = adult_snapshot()
    glyphs.shipped_codepoints()  # the character filter's font scan, once per process

    def no_disk(path: Path) -> bytes:
        raise AssertionError(f"read {path} from disk")

    monkeypatch.setattr(letter_templates.env, "loader", jinja2.DictLoader({}))
    monkeypatch.setattr(Path, "read_bytes", no_disk)
    monkeypatch.setattr(letter_batch, "_LAYOUTS", {})  # the body is laid out again, too

    [(_, pdf)] = letters.render_batch(
        "individual_adult.html", COMMON, [{**RECIPIENT, "letter_id": "SNAP-2"}], snapshot=snapshot
    )

    assert "Dear Ana Rivera:" in letters.pdf_text(pdf)
