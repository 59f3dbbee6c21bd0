"""The letter URL fetcher: only files under letter_templates/ and data: URIs, nothing else."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from incident_app import letters
from incident_app.letters import TemplateFilesOnly
from incident_app.letters import URLRefused

FONT = letters.TEMPLATE_DIR / "fonts" / "NotoSans-Regular.ttf"


def test_a_template_file_is_served_with_its_bytes_and_type() -> None:
    response = TemplateFilesOnly().fetch((letters.TEMPLATE_DIR / "letters.css").as_uri())

    assert response.read().startswith(b"/* Letter stylesheet")
    assert response.content_type == "text/css"


def test_a_font_under_a_subfolder_is_served() -> None:
    response = TemplateFilesOnly().fetch(FONT.as_uri())

    assert response.read()[:4] == b"\x00\x01\x00\x00"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        letters.TEMPLATE_DIR.as_uri() + "/../config.py",
        letters.TEMPLATE_DIR.as_uri() + "/fonts/../../config.py",
        letters.TEMPLATE_DIR.as_uri() + "/%2e%2e/config.py",
        "file://evil.example/share/x.css",
        letters.TEMPLATE_DIR.as_uri() + "/missing.css",
        letters.TEMPLATE_DIR.as_uri() + "/fonts",
    ],
)
def test_files_outside_the_template_folder_are_refused(url: str) -> None:
    with pytest.raises(URLRefused):
        TemplateFilesOnly().fetch(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.com/logo.png",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "gopher://127.0.0.1:70/",
        "relative/without/scheme.css",
    ],
)
def test_every_other_scheme_is_refused(url: str) -> None:
    with pytest.raises(URLRefused):
        TemplateFilesOnly().fetch(url)


def test_a_symlink_inside_that_points_outside_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for letters")
    (root / "inside.txt").write_text("fine")
    (root / "escape.css").symlink_to(secret)

    fetcher = TemplateFilesOnly(root)

    assert fetcher.fetch((root / "inside.txt").as_uri()).read() == b"fine"
    with pytest.raises(URLRefused):
        fetcher.fetch((root / "escape.css").as_uri())


def test_a_symlinked_template_folder_still_serves_its_own_files(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.css").write_text("p {}")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)

    assert TemplateFilesOnly(link).fetch((link / "a.css").as_uri()).read() == b"p {}"


def test_data_uris_are_decoded() -> None:
    payload = base64.b64encode(b"\x89PNG fake").decode()

    response = TemplateFilesOnly().fetch(f"data:image/png;base64,{payload}")

    assert response.read() == b"\x89PNG fake"
    assert response.content_type == "image/png"


def test_weasyprint_sees_a_refusal_as_fatal() -> None:
    html = '<p>Logo</p><img src="file:///etc/passwd">'

    with pytest.raises(letters.LetterRenderError, match="/etc/passwd"):
        letters.pdf_from_html(html)
