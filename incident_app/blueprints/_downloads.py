"""Every file download leaves through here: gathered, the transaction ended, then streamed.

Issue 18: a response that streams while its session is open keeps a transaction (and, before
that issue, SQLite's write lock) for as long as the client takes to read. So a download is
gathered first (into a SealedSpool when it is produced lazily, e.g. the roster export read
batch by batch), the request's session is closed, and only then do bytes go out. Streams
that need no database (a stored file verified as it is read) are sent as they come, after
the session is closed. CSV goes out as UTF-8 with a byte-order mark, so Excel on Windows
does not read it as cp1252, and with one `charset` in its Content-Type.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from urllib.parse import quote

from flask import Response

from incident_app.db import end_session
from incident_app.spool import SealedSpool

CSV_TYPE = "text/csv; charset=utf-8"
BOM = b"\xef\xbb\xbf"

Body = str | bytes | Iterable[str] | Iterable[bytes] | SealedSpool


def _encoded(body: Iterable[str] | Iterable[bytes]) -> Iterator[bytes]:
    for part in body:
        yield part.encode("utf-8") if isinstance(part, str) else part


def _after(prefix: bytes, blocks: Iterator[bytes]) -> Iterator[bytes]:
    if prefix:
        yield prefix
    yield from blocks


def disposition(filename: str, *, inline: bool = False) -> str:
    """Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    fallback = fallback.replace('"', "_").replace("\\", "_")
    kind = "inline" if inline else "attachment"
    if fallback == filename:
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def download(
    body: Body,
    *,
    content_type: str,
    filename: str,
    inline: bool = False,
    gather: bool = True,
    bom: bool = False,
    size: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A download response. `gather=False` only for streams that never touch the database
    (then pass `size` when it is known); a SealedSpool a service filled is streamed as it
    is; `bom`: start with a UTF-8 byte-order mark."""
    prefix = BOM if bom else b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, bytes):
        data = body if body.startswith(prefix) else prefix + body
        end_session()
        response = Response(data, content_type=content_type)
    elif isinstance(body, SealedSpool):
        end_session()
        response = Response(_after(prefix, body.drain()), content_type=content_type)
        response.headers["Content-Length"] = str(len(prefix) + body.size)
    elif gather:
        spool = SealedSpool()
        try:
            spool.write(prefix)
            for part in _encoded(body):
                spool.write(part)
        except BaseException:
            spool.close()
            raise
        end_session()
        response = Response(spool.drain(), content_type=content_type)
        response.headers["Content-Length"] = str(spool.size)
    else:
        end_session()
        response = Response(_encoded(body), content_type=content_type)
        if size is not None:
            response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = disposition(filename, inline=inline)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def csv_download(body: Body, filename: str, **kwargs: object) -> Response:
    """A CSV we produce: UTF-8 with a byte-order mark (Excel), formula cells already neutralised
    by the service that wrote it."""
    return download(body, content_type=CSV_TYPE, filename=filename, bom=True, **kwargs)  # type: ignore[arg-type]
