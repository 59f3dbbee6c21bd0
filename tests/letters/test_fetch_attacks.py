"""Case text and stray HTML cannot make a letter read local files or call any server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from io import BytesIO

import pytest
from pypdf import PdfReader

from incident_app import letters
from tests.letters.samples import individual_context

PASSWD_MARKER = b"root:x:0:0"


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.requests.append(self.path)
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    """A real HTTP server on a free loopback port; yields (port, access log)."""
    handler = type("Recorder", (_Recorder,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler.requests
    server.shutdown()
    server.server_close()


def _attacks(port: int) -> list[str]:
    return [
        '<img src="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/passwd">',
        f'<img src="http://127.0.0.1:{port}/x.png">',
        '<img src="../../../../etc/passwd">',
        '<link rel="stylesheet" href="../config.py">',
        f'<style>body {{ background: url("http://127.0.0.1:{port}/bg") }}</style>',
        "<style>@font-face { font-family: X; src: url(../../../etc/passwd) }</style>",
        f'<iframe src="http://127.0.0.1:{port}/frame"></iframe>',
    ]


def _assert_clean(pdf: bytes) -> None:
    reader = PdfReader(BytesIO(pdf))
    assert reader.attachments == {}
    assert b"/EmbeddedFile" not in pdf
    assert PASSWD_MARKER not in pdf
    assert "root:x:0:0" not in letters.pdf_text(pdf)


def test_hostile_case_text_is_printed_as_text_and_fetches_nothing(loopback_server) -> None:
    port, access_log = loopback_server
    context = individual_context()
    attack_text = " ".join(_attacks(port))
    context["breach"] = {**context["breach"], "what_happened": attack_text}
    context["recipient"] = {**context["recipient"], "name": '<img src="file:///etc/passwd">'}

    pdf = letters.render_pdf("individual_adult.html", context)

    _assert_clean(pdf)
    assert access_log == []
    text = letters.pdf_text(pdf)
    assert '<link rel="attachment"' in text
    assert "<img src=" in text


def test_hostile_text_in_the_html_is_escaped_not_parsed(loopback_server) -> None:
    port, _ = loopback_server
    context = individual_context()
    context["breach"] = {**context["breach"], "what_happened": " ".join(_attacks(port))}

    html = letters.render_html("individual_adult.html", context)

    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert '<link rel="attachment"' not in html
    assert "<iframe" not in html


@pytest.mark.parametrize("index", range(8))
def test_raw_markup_that_escaped_the_template_stops_the_render(loopback_server, index: int) -> None:
    port, access_log = loopback_server
    attack = _attacks(port)[index]
    html = f'<html><head></head><body><p>Letter</p>{attack}<a href="#">x</a></body></html>'

    try:
        pdf = letters.pdf_from_html(html)
    except letters.LetterRenderError as error:
        assert "refused" in str(error)
    else:  # only elements WeasyPrint never loads (an iframe) may render
        assert attack.startswith("<iframe")
        _assert_clean(pdf)
    assert access_log == []


def test_a_stylesheet_url_pointing_outside_stops_the_render(loopback_server) -> None:
    _, access_log = loopback_server
    html = (
        '<html><head><style>@import url("../../etc/passwd");</style>'
        "<style>p { background: url(file:///etc/hostname) }</style></head>"
        "<body><p>x</p></body></html>"
    )

    with pytest.raises(letters.LetterRenderError, match="refused"):
        letters.pdf_from_html(html)
    assert access_log == []


def test_a_base_element_cannot_redirect_relative_urls(loopback_server) -> None:
    port, access_log = loopback_server
    html = (
        f'<html><head><base href="http://127.0.0.1:{port}/"></head>'
        '<body><img src="logo.png"></body></html>'
    )

    with pytest.raises(letters.LetterRenderError, match="refused"):
        letters.pdf_from_html(html)
    assert access_log == []
