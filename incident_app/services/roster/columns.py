"""The roster CSV columns: names, aliases, what each holds. One table for the parser, the
column-mapping step, the page that documents the format and docs/roster_csv.md."""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    required: bool
    help: str
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column(
        "external_id",
        "External id",
        True,
        "MRN, member id or account number from the source system; used to find a person "
        "and to spot duplicates.",
        (
            "mrn",
            "member_id",
            "patient_id",
            "account_number",
            "id",
            "medical_record_number",
            "subscriber_id",
        ),
    ),
    Column("first_name", "First name", True, "Given name.", ("first", "given_name", "fname")),
    Column(
        "last_name",
        "Last name",
        True,
        "Family name. A row needs a first or a last name.",
        ("last", "surname", "family_name", "lname"),
    ),
    Column(
        "date_of_birth",
        "Date of birth",
        True,
        "YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD; not in the future. May be blank.",
        ("dob", "birth_date", "birthdate", "date_of_birth_yyyy_mm_dd"),
    ),
    Column(
        "address_line1",
        "Address line 1",
        True,
        "Street address.",
        ("address", "address1", "street", "street_address", "addr1", "address_1"),
    ),
    Column(
        "address_line2",
        "Address line 2",
        False,
        "Apartment, suite, etc.",
        ("address2", "addr2", "address_2", "apt"),
    ),
    Column("city", "City", True, "City or town.", ("town",)),
    Column(
        "state",
        "State",
        True,
        "USPS code (NY, DC, PR, GU…) or full name; blank means derived from the ZIP code.",
        ("st", "state_code", "province"),
    ),
    Column(
        "zip",
        "ZIP code",
        True,
        "12345 or 12345-6789 (a 4-digit ZIP that lost its leading zero is repaired).",
        ("zip_code", "zipcode", "postal_code", "postcode", "zip5"),
    ),
    Column("country", "Country", False, "Blank means United States.", ("country_code",)),
    Column("email", "Email", False, "Email address.", ("email_address", "e_mail")),
    Column("phone", "Phone", False, "Phone number.", ("phone_number", "telephone", "tel")),
    Column(
        "email_consent",
        "Email notice consent",
        False,
        "Y/N: agreed to notice by email (164.404(d)(1)(i)).",
        ("email_notice_consent", "consent_email", "email_opt_in"),
    ),
    Column("deceased", "Deceased", False, "Y/N.", ("is_deceased", "deceased_flag", "expired")),
    Column(
        "nok_name",
        "Next of kin / representative name",
        False,
        "For deceased individuals (164.404(d)(1)(ii)).",
        ("next_of_kin_name", "personal_representative_name", "representative_name"),
    ),
    Column(
        "nok_address_line1",
        "Next of kin address line 1",
        False,
        "",
        ("next_of_kin_address", "nok_address", "representative_address"),
    ),
    Column("nok_address_line2", "Next of kin address line 2", False, "", ()),
    Column("nok_city", "Next of kin city", False, "", ("next_of_kin_city",)),
    Column("nok_state", "Next of kin state", False, "", ("next_of_kin_state",)),
    Column("nok_zip", "Next of kin ZIP", False, "", ("next_of_kin_zip",)),
    Column(
        "minor",
        "Minor",
        False,
        "Y/N; blank means worked out from the date of birth.",
        ("is_minor", "minor_flag"),
    ),
    Column(
        "guardian_name",
        "Parent / guardian name",
        False,
        "For minors.",
        ("parent_name", "parent_guardian_name"),
    ),
    Column(
        "guardian_address_line1",
        "Guardian address line 1",
        False,
        "",
        ("parent_address", "guardian_address"),
    ),
    Column("guardian_address_line2", "Guardian address line 2", False, "", ()),
    Column("guardian_city", "Guardian city", False, "", ("parent_city",)),
    Column("guardian_state", "Guardian state", False, "", ("parent_state",)),
    Column("guardian_zip", "Guardian ZIP", False, "", ("parent_zip",)),
    Column(
        "client",
        "Client (covered entity)",
        False,
        "Business-associate mode: the covered-entity client whose patient this is, as named "
        "on the incident. Required when the incident names clients; a blank or unknown client "
        "refuses the row.",
        ("client_name", "covered_entity", "practice", "clinic", "customer"),
    ),
    Column(
        "language",
        "Language preference",
        False,
        "ISO code (es) or name (Spanish).",
        ("language_preference", "preferred_language", "lang"),
    ),
)
BY_NAME = {column.name: column for column in COLUMNS}
REQUIRED = tuple(column.name for column in COLUMNS if column.required)


def header_key(header: str) -> str:
    """'Date of Birth ' / 'date-of-birth' / 'DateOfBirth'? → 'date_of_birth' (not camelCase)."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().casefold()).strip("_")


_ALIASES = {
    **{header_key(alias): column.name for column in COLUMNS for alias in column.aliases},
    **{column.name: column.name for column in COLUMNS},
}


def guess_mapping(headers: Iterable[str]) -> dict[str, str]:
    """Our column name → the file's header, for the headers we recognise (first one wins)."""
    mapping: dict[str, str] = {}
    for header in headers:
        name = _ALIASES.get(header_key(header))
        if name is not None and name not in mapping:
            mapping[name] = header
    return mapping


def missing_required(mapping: Mapping[str, str]) -> list[str]:
    return [name for name in REQUIRED if not mapping.get(name)]


def fits(mapping: Mapping[str, str], headers: Iterable[str]) -> bool:
    """True when `mapping` names only headers present in the file and covers the required."""
    present = set(headers)
    return not missing_required(mapping) and all(h in present for h in mapping.values())


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def sniff_delimiter(header_line: str) -> str:
    """Comma, semicolon or tab: whichever the header line uses most outside quotes."""
    bare = _QUOTED.sub("", header_line)
    counts = {d: bare.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
