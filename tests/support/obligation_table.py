"""Reads an obligations table (Deadlines tab, calculator) back out of a page's HTML with the
standard library's parser: one dict per row, its data-* attributes and its cells' text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from html.parser import HTMLParser


@dataclass
class Row:
    attrs: dict[str, str]
    cells: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.attrs.get("data-kind", "")

    @property
    def jurisdiction(self) -> str:
        return self.attrs.get("data-jurisdiction", "")

    @property
    def text(self) -> str:
        return " | ".join(self.cells)


class _TableParser(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.table_id = table_id
        self.depth = 0  # > 0 while inside the wanted table
        self.rows: list[Row] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "table" and (self.depth or values.get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr" and "data-kind" in values:
            self.rows.append(Row(values))
        elif self.depth and self.rows and tag == "td":
            self.cell = []
        elif self.depth and self.rows and tag == "a" and "href" in values:
            self.rows[-1].links.append(values["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "td" and self.cell is not None:
            self.rows[-1].cells.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def obligation_rows(html: str, table_id: str = "obligations") -> list[Row]:
    parser = _TableParser(table_id)
    parser.feed(html)
    return parser.rows


def row_of(html: str, kind: str, jurisdiction: str, table_id: str = "obligations") -> Row | None:
    return next(
        (
            row
            for row in obligation_rows(html, table_id)
            if row.kind == kind and row.jurisdiction == jurisdiction
        ),
        None,
    )
