"""Printable text: only characters the shipped fonts can draw.

Anything else (emoji, rare symbols, control characters) becomes U+FFFD before layout, so output
is the same on every machine and fontconfig never goes hunting for a fallback font (TRAPS.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from collections.abc import Mapping
from functools import cache
from typing import Any

from fontTools.ttLib import TTFont

from incident_app.letters.templates import FONT_DIR

REPLACEMENT_CHARACTER = "\ufffd"


@cache
def shipped_codepoints() -> frozenset[int]:
    """Every code point some shipped font has a glyph for."""
    points: set[int] = set()
    for path in sorted(FONT_DIR.glob("*.ttf")):
        points.update(TTFont(path, lazy=True).getBestCmap())
    return frozenset(points)


_KEEP = frozenset("\n\r\t")
# Joiners and variation selectors only make sense next to the character they modify.
_CLUSTER_MARKS = frozenset({0x200D, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)})


def printable(text: str) -> str:
    """`text` with every run of characters the shipped fonts cannot draw (emoji, rare
    symbols, control characters) replaced by one U+FFFD.

    The policy keeps output the same on every machine (no fontconfig fallback to whatever
    fonts a host has) and avoids fontconfig's slow fallback searches (TRAPS.md).
    """
    text = unicodedata.normalize("NFC", text)
    known = shipped_codepoints()
    out: list[str] = []
    for char in text:
        point = ord(char)
        unsupported = point not in known and char not in _KEEP
        if unsupported or (point in _CLUSTER_MARKS and out and out[-1] == REPLACEMENT_CHARACTER):
            if not out or out[-1] != REPLACEMENT_CHARACTER:
                out.append(REPLACEMENT_CHARACTER)
        else:
            out.append(char)
    return "".join(out)


def unprintable_characters(value: object) -> list[str]:
    """The distinct characters in `value` (recursively) that `printable` would replace."""
    known = shipped_codepoints()
    found: dict[str, None] = {}
    for text in _strings(value):
        for char in unicodedata.normalize("NFC", text):
            if ord(char) not in known and char not in _KEEP:
                found[char] = None
    return list(found)


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def printable_context(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, Mapping):
        return {key: printable_context(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable_context(item) for item in value]
    return value
