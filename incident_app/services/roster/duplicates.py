"""Duplicate merging for a roster import, without sorting a million rows in the database.

A row repeats a person already kept when it has the same external id, or the same name + date
of birth + address (the two blind indexes). While staging, the import keeps the first 64 bits
of every token it stages (8 bytes a token: 16 MB for a million people, both kinds). At the end,
sorting those numbers in memory names the few prefixes seen more than once; only the rows with
those prefixes are read back — through the external-id index, or one scan for the unindexed
identity token — and grouped by their full token. A prefix shared by two different tokens only
costs a look; it never merges anyone.

The result is the one a GROUP BY over every row would give: in each group of rows with the
same token (rows of this import, and on "append" the rows already in the roster, not merged
yet), the earliest row (lowest id: file order, the existing roster first) is kept and the
others of this import point to it. The external id goes first; the identity pass skips rows
the first pass merged.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from collections.abc import Sequence
from itertools import islice
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.roster import RosterPerson
from incident_app.services.roster.rows import STAGED_COLUMNS

PREFIX_CHARS = 16  # hex characters of a token kept in memory: 64 bits
_EXTERNAL = STAGED_COLUMNS.index("external_index")
_IDENTITY = STAGED_COLUMNS.index("identity_index")
# Up to this many repeated external-id prefixes are looked up one by one through the index;
# more (a file that is mostly repeats) are matched in scans of the rows, like identity ones.
MAX_LOOKUPS = 20_000
PREFIXES_PER_SCAN = 20_000  # prefixes matched per scan (bound parameters in one statement)
UPDATES_PER_STATEMENT = 5000


class TokenPrefixes:
    """The 64-bit prefixes of the tokens staged (or already in the roster), per kind."""

    def __init__(self) -> None:
        self.external = array("Q")
        self.identity = array("Q")

    def add_staged(self, rows: Iterable[Sequence[Any]]) -> None:
        """Note the tokens of staged rows (roster_rows.STAGED_COLUMNS order)."""
        self._add((row[_EXTERNAL], row[_IDENTITY]) for row in rows)

    def add_roster(self, session: Session, import_ids: list[int]) -> None:
        """Note the tokens of rows already in the roster (an "append" merges with them)."""
        if import_ids:
            self._add(
                session.execute(
                    sa.select(RosterPerson.external_index, RosterPerson.identity_index)
                    .where(
                        RosterPerson.import_id.in_(import_ids),
                        RosterPerson.duplicate_of_id.is_(None),
                    )
                    .execution_options(yield_per=UPDATES_PER_STATEMENT)
                )
            )

    def _add(self, pairs: Iterable[Sequence[str | None]]) -> None:
        external, identity = self.external.append, self.identity.append
        for external_token, identity_token in pairs:
            if external_token is not None:
                external(int(external_token[:PREFIX_CHARS], 16))
            if identity_token is not None:
                identity(int(identity_token[:PREFIX_CHARS], 16))


def repeated(prefixes: array) -> list[str]:  # type: ignore[type-arg]
    """The prefixes that occur more than once, as hex (the tokens' own spelling)."""
    ordered = sorted(prefixes)
    seen_twice = {a for a, b in zip(ordered, islice(ordered, 1, None), strict=False) if a == b}
    return sorted(f"{prefix:0{PREFIX_CHARS}x}" for prefix in seen_twice)


def merge(session: Session, *, import_id: int, scope: list[int], prefixes: TokenPrefixes) -> int:
    """Mark this import's repeated people as merged (duplicate_of_id); returns how many.
    `scope`: the imports whose rows count as already kept (this one, plus the roster's
    committed imports on "append"). Writes in the caller's transaction."""
    # Sorted before the first statement: nothing slow runs inside the transaction (on SQLite
    # its first write takes the write lock, held until the caller commits; see db.py).
    external, identity = repeated(prefixes.external), repeated(prefixes.identity)
    merger = _Merger(session.connection(), import_id, scope)
    if len(external) <= MAX_LOOKUPS:
        merger.look_up(external)
    else:
        merger.scan(_PEOPLE.c.external_index, external)
    merger.flush()  # the identity pass must not see rows merged by external id
    merger.scan(_PEOPLE.c.identity_index, identity)
    merger.flush()
    return merger.merged


_PEOPLE = cast(sa.Table, RosterPerson.__table__)
_MARK = (
    sa.update(_PEOPLE)
    .where(_PEOPLE.c.id == sa.bindparam("person"))
    .values(duplicate_of_id=sa.bindparam("keep"))
)


class _Merger:
    """Reads candidate rows ordered by token then id, and marks every row of this import
    after the first of its group. Core statements on the session's connection (a few
    thousand lookups: no ORM per statement)."""

    def __init__(self, connection: sa.Connection, import_id: int, scope: list[int]) -> None:
        self.connection, self.import_id, self.scope = connection, import_id, scope
        self.pending: list[dict[str, int]] = []
        self.merged = 0

    def look_up(self, prefixes: list[str]) -> None:
        # Tokens that start with a prefix sort from the prefix up to the prefix + "g" (one
        # past the last hex digit): one range scan of the external-id index each. A group's
        # rows share one prefix, so prefix by prefix loses no group. "import_id + 0" keeps
        # the planner on that index instead of every row of the import.
        column = _PEOPLE.c.external_index
        query = self._candidates(
            column,
            (_PEOPLE.c.import_id + 0).in_(self.scope),
            column.between(sa.bindparam("low"), sa.bindparam("high")),
        )
        for prefix in prefixes:
            self._group(self.connection.execute(query, {"low": prefix, "high": prefix + "g"}))

    def scan(self, column: sa.Column[Any], prefixes: list[str]) -> None:
        """Match prefixes while reading the scope's rows (no index on the token needed)."""
        for batch in _batches(prefixes, PREFIXES_PER_SCAN):
            query = self._candidates(
                column,
                _PEOPLE.c.import_id.in_(self.scope),
                sa.func.substr(column, 1, PREFIX_CHARS).in_(batch),
            )
            self._group(
                self.connection.execute(query.execution_options(yield_per=UPDATES_PER_STATEMENT))
            )

    @staticmethod
    def _candidates(
        column: sa.Column[Any], in_scope: sa.ColumnElement[bool], near: sa.ColumnElement[bool]
    ) -> sa.Select[Any]:
        return (
            sa.select(_PEOPLE.c.id, _PEOPLE.c.import_id, column)
            .where(in_scope, _PEOPLE.c.duplicate_of_id.is_(None), column.is_not(None), near)
            .order_by(column, _PEOPLE.c.id)
        )

    def _group(self, rows: Iterable[Any]) -> None:
        token, keep_id = None, 0
        for person_id, person_import, person_token in rows:
            if person_token != token:  # the first (earliest) row of a group is kept
                token, keep_id = person_token, person_id
            elif person_import == self.import_id:
                self.pending.append({"person": person_id, "keep": keep_id})
                if len(self.pending) >= UPDATES_PER_STATEMENT:
                    self.flush()

    def flush(self) -> None:
        if self.pending:
            self.connection.execute(_MARK, self.pending)
            self.merged += len(self.pending)
            self.pending = []


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
