"""Duplicate merging from token prefixes gives what a GROUP BY over every row gives — also
when prefixes collide (forced here with 1-character prefixes), on the external-id lookup path
and on the scan path, and across imports on "append"."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from incident_app.models.roster import AddressStatus
from incident_app.models.roster import ImportMode
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.services.roster import duplicates as roster_duplicates
from incident_app.services.roster.duplicates import TokenPrefixes
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user

TOKENS = [f"{n:x}" * 32 for n in range(16)]  # 16 tokens; 1-char prefixes make them collide


def _import(session, incident_id: int, user_id: int, status: ImportStatus) -> RosterImport:
    record = RosterImport(
        incident_id=incident_id,
        status=status,
        mode=ImportMode.APPEND,
        filename="r.csv",
        file_sha256="0" * 64,
        size_bytes=1,
        delimiter=",",
        created_by_id=user_id,
        created_at=NOW,
    )
    session.add(record)
    session.flush()
    return record


def _people(
    session, record: RosterImport, rng: random.Random, count: int, tokens: list[str]
) -> list[RosterPerson]:
    people = [
        RosterPerson(
            incident_id=record.incident_id,
            import_id=record.id,
            row_number=row,
            phi=b"-",
            external_index=rng.choice([*tokens[:6], None]),
            identity_index=rng.choice([*tokens[4:12], None]),
            address_status=AddressStatus.SUFFICIENT,
        )
        for row in range(2, count + 2)
    ]
    session.add_all(people)
    session.flush()
    return people


def _expected(people: list[RosterPerson], import_id: int) -> dict[int, int | None]:
    """The GROUP BY definition, written out: per token, the lowest id is kept."""
    merged: dict[int, int | None] = {p.id: p.duplicate_of_id for p in people}
    for column in ("external_index", "identity_index"):
        keep: dict[str, int] = {}
        for person in sorted(people, key=lambda p: p.id):
            token = getattr(person, column)
            if token is None or merged[person.id] is not None:
                continue
            if token not in keep:
                keep[token] = person.id
            elif person.import_id == import_id:
                merged[person.id] = keep[token]
    return merged


@pytest.mark.parametrize(
    ("prefix_chars", "max_lookups"),
    [
        (16, 20_000),  # as shipped
        (1, 20_000),  # every prefix shared by several tokens
        (1, 0),  # the scan path for external ids
    ],
)
def test_merging_matches_the_group_by_definition(
    session, monkeypatch, prefix_chars: int, max_lookups: int
) -> None:
    monkeypatch.setattr(roster_duplicates, "PREFIX_CHARS", prefix_chars)
    monkeypatch.setattr(roster_duplicates, "MAX_LOOKUPS", max_lookups)
    user = make_user(session)
    incident = make_incident(session, created_by=user)
    rng = random.Random(prefix_chars * 100 + max_lookups)
    earlier = _import(session, incident.id, user.id, ImportStatus.COMMITTED)
    existing = _people(session, earlier, rng, 40, TOKENS)
    session.execute(
        sa.update(RosterPerson)
        .where(RosterPerson.id == existing[5].id)
        .values(duplicate_of_id=existing[0].id)
    )  # merged before: not a keeper
    session.expire_all()
    current = _import(session, incident.id, user.id, ImportStatus.RUNNING)
    staged = _people(session, current, rng, 120, TOKENS[::-1])
    everyone = existing + staged
    expected = _expected(everyone, current.id)
    prefixes = TokenPrefixes()
    prefixes.add_roster(session, [earlier.id])
    prefixes.add_staged(
        (None, None, None, None, p.external_index, p.identity_index) for p in staged
    )

    merged = roster_duplicates.merge(
        session, import_id=current.id, scope=[current.id, earlier.id], prefixes=prefixes
    )

    session.expire_all()
    assert {p.id: p.duplicate_of_id for p in everyone} == expected
    assert merged == sum(1 for p in staged if expected[p.id] is not None) > 0


def test_only_prefixes_seen_twice_are_candidates() -> None:
    prefixes = TokenPrefixes()
    prefixes.add_staged(
        [
            (None, None, None, None, "ab" * 16, None),
            (None, None, None, None, "ab" * 8 + "cd" * 8, "12" * 16),
            (None, None, None, None, "cd" * 16, "12" * 16),
        ]
    )

    assert roster_duplicates.repeated(prefixes.external) == ["ab" * 8]
    assert roster_duplicates.repeated(prefixes.identity) == ["12" * 8]
