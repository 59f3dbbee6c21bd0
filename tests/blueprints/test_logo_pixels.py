"""The organisation logo's pixel count is bounded and large logos are scaled down (issue 24 §2)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image

from incident_app.db import get_session
from incident_app.models.user import Role
from incident_app.services.organisation import LOGO_MAX_SIDE
from incident_app.services.organisation import get_organisation
from tests.conftest import csrf_token
from tests.support.factories import make_user

SETTINGS = {
    "legal_name": "Lakeside Health",
    "address_line1": "1 Main St",
    "city": "Chicago",
    "state": "IL",
    "postal_code": "60601",
    "toll_free_number": "1-800-555-0100",
    "email": "privacy@lakeside.example",
    "website": "https://lakeside.example",
    "signatory_name": "Pat Doe",
    "signatory_title": "Privacy Officer",
    "timezone": "America/Chicago",
}


def blank_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` × `height` white pixels, compressed row by row (a 13,000 ×
    13,000 one is ~20 KB, as in the report), without ever holding the pixels in memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def _save(app, client, auth, logo: bytes):
    with app.app_context():
        admin = make_user(get_session(), role=Role.ADMIN)
    auth.login(admin.email)
    token = csrf_token(client, "/admin/settings")
    return client.post(
        "/admin/settings",
        data={**SETTINGS, "logo": (io.BytesIO(logo), "logo.png"), "csrf_token": token},
        content_type="multipart/form-data",
    )


def _stored_logo(app) -> bytes | None:
    with app.app_context():
        return get_organisation(get_session()).logo


@pytest.mark.parametrize(("side", "shown"), [(13_000, "13,000 × 13,000 pixels"), (30_000, "")])
def test_a_logo_of_too_many_pixels_is_refused_with_a_message(app, client, auth, side, shown):
    logo = blank_png(side, side)
    assert len(logo) < 512 * 1024  # small on disk: only the pixel count gives it away
    started = time.perf_counter()

    response = _save(app, client, auth, logo)

    assert time.perf_counter() - started < 5  # refused from the header, nothing decoded
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "a logo may have at most 25 million pixels" in page and shown in page
    assert _stored_logo(app) is None


def test_a_large_logo_is_scaled_down_for_letters(app, client, auth):
    response = _save(app, client, auth, blank_png(3000, 1500))

    assert response.status_code == 302
    with Image.open(io.BytesIO(_stored_logo(app))) as stored:
        assert (stored.format, stored.size) == ("PNG", (LOGO_MAX_SIDE, LOGO_MAX_SIDE // 2))


def test_a_jpeg_logo_is_scaled_down_and_stays_a_jpeg(app, client, auth):
    out = io.BytesIO()
    Image.new("RGB", (2400, 600), (20, 80, 160)).save(out, format="JPEG")

    assert _save(app, client, auth, out.getvalue()).status_code == 302
    with Image.open(io.BytesIO(_stored_logo(app))) as stored:
        assert (stored.format, stored.size) == ("JPEG", (LOGO_MAX_SIDE, 300))


def test_a_small_logo_is_kept_byte_for_byte(app, client, auth):
    logo = blank_png(400, 100)
    assert _save(app, client, auth, logo).status_code == 302
    assert _stored_logo(app) == logo


def test_a_truncated_png_gets_a_message(app, client, auth):
    response = _save(app, client, auth, blank_png(2000, 2000)[:40])

    assert response.status_code == 422
    assert "could not be read as a PNG or JPEG image" in response.get_data(as_text=True)
    assert _stored_logo(app) is None
