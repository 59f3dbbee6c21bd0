"""Roster normalisers: pure functions, human-written expected values."""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.models.roster import AddressStatus
from incident_app.services.roster import normalise as norm
from incident_app.services.roster.columns import guess_mapping
from incident_app.services.roster.columns import sniff_delimiter

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("NY", "NY"),
        ("ny", "NY"),
        (" New York ", "NY"),
        ("new  york", "NY"),
        ("District of Columbia", "DC"),
        ("D.C.", "DC"),
        ("Washington, D.C.", "DC"),
        ("Puerto Rico", "PR"),
        ("U.S. Virgin Islands", "VI"),
        ("Guam", "GU"),
        ("American Samoa", "AS"),
        ("Northern Mariana Islands", "MP"),
        ("AE", "AE"),
        ("Hawaiʻi".replace("ʻ", ""), "HI"),
        ("WASHINGTON", "WA"),
    ],
)
def test_state_names_and_codes_become_usps_codes(text: str, code: str) -> None:
    assert norm.state_code(text) == code


@pytest.mark.parametrize("text", ["Atlantis", "XX", "N.Y.C.", "Ontario"])
def test_unknown_states_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(norm.BadValue, match="use a USPS code such as NY"):
        norm.state_code(text)


@pytest.mark.parametrize(
    ("zip_code", "state"),
    [
        ("12207", "NY"),
        ("00501", "NY"),
        ("00901", "PR"),
        ("00802", "VI"),
        ("02134", "MA"),
        ("05501", "MA"),
        ("05401", "VT"),
        ("20001", "DC"),
        ("20101", "VA"),
        ("73301", "TX"),
        ("96799", "AS"),
        ("96813", "HI"),
        ("96910", "GU"),
        ("96950", "MP"),
        ("99501", "AK"),
        ("09001", "AE"),
        ("96201", "AP"),
        ("34002", "AA"),
        ("88510", "TX"),
        ("59001", "MT"),
    ],
)
def test_zip_codes_give_their_state(zip_code: str, state: str) -> None:
    assert norm.zip_state(zip_code) == state


def test_unassigned_zip_prefixes_give_no_state() -> None:
    assert norm.zip_state("00001") is None
    assert norm.zip_state("71501") is None


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("12207", "12207"),
        ("12207-1234", "12207-1234"),
        ("122071234", "12207-1234"),
        ("2134", "02134"),
        (" 02134 ", "02134"),
    ],
)
def test_zip_formats(text: str, normalised: str) -> None:
    assert norm.normalise_zip(text) == normalised


@pytest.mark.parametrize("text", ["122", "ABCDE", "12207-12", "1234567"])
def test_bad_zip_codes(text: str) -> None:
    with pytest.raises(norm.BadValue, match="not 5 digits or ZIP\\+4"):
        norm.normalise_zip(text)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("1980-04-02", date(1980, 4, 2)),
        ("04/02/1980", date(1980, 4, 2)),
        ("4/2/1980", date(1980, 4, 2)),
        ("19800402", date(1980, 4, 2)),
        ("2026-03-02", date(2026, 3, 2)),
    ],
)
def test_dates(text: str, day: date) -> None:
    assert norm.parse_date(text, today=TODAY) == day


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-03-03", "is in the future"),
        ("01/02/03", "is not a date"),
        ("1980-02-30", "is not a date"),
        ("13/01/1980", "is not a date"),
        ("1870-01-01", "before 1880"),
        ("yesterday", "is not a date"),
    ],
)
def test_bad_dates(text: str, message: str) -> None:
    with pytest.raises(norm.BadValue, match=message):
        norm.parse_date(text, today=TODAY)


def test_flags_and_placeholders() -> None:
    assert [norm.parse_flag(t, what="deceased") for t in ("Y", "yes", "TRUE", "1", "x")] == [
        True
    ] * 5
    assert [norm.parse_flag(t, what="deceased") for t in ("", "n", "No", "false", "0")] == [
        False
    ] * 5
    with pytest.raises(norm.BadValue, match="deceased 'maybe' is not yes or no"):
        norm.parse_flag("maybe", what="deceased")
    assert [norm.clean(t) for t in (" N/A ", "unknown", "-", "  Ana   María ")] == [
        "",
        "",
        "",
        "Ana María",
    ]


@pytest.mark.parametrize(
    ("parts", "status"),
    [
        (("12 Elm St", "Albany", "NY", "12207", ""), AddressStatus.SUFFICIENT),
        (("12 Elm St", "Albany", None, "12207", ""), AddressStatus.INSUFFICIENT),
        (("12 Elm St", "", "NY", "12207", ""), AddressStatus.INSUFFICIENT),
        (("", "Albany", "NY", None, ""), AddressStatus.INSUFFICIENT),
        (("", "", None, None, ""), AddressStatus.MISSING),
        (("10 Downing St", "London", None, None, "United Kingdom"), AddressStatus.SUFFICIENT),
        (("", "London", None, None, "United Kingdom"), AddressStatus.INSUFFICIENT),
    ],
)
def test_address_sufficiency(parts: tuple, status: AddressStatus) -> None:
    line1, city, state, zip_code, country = parts
    assert (
        norm.address_status(line1=line1, city=city, state=state, zip_code=zip_code, country=country)
        is status
    )


def test_formula_cells_are_neutralised_and_others_left_alone() -> None:
    cells = ["=1+1", "+1 555", "-2", "@SUM(A1)", "\tx", "\rx", "Ana", "", None, 12]
    assert [norm.neutralise_cell(c) for c in cells] == [
        "'=1+1",
        "'+1 555",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "Ana",
        "",
        "",
        "12",
    ]


def test_languages_and_ages() -> None:
    assert [norm.language_code(t) for t in ("Spanish", "es", "ES-us", "Español", "")] == [
        "es",
        "es",
        "es",
        "es",
        "",
    ]
    assert norm.age_on(date(2008, 3, 3), TODAY) == 17
    assert norm.age_on(date(2008, 3, 2), TODAY) == 18


def test_headers_are_recognised_by_name_and_alias() -> None:
    mapping = guess_mapping(
        [
            "MRN",
            "First Name",
            "Last-Name",
            "DOB",
            "Street Address",
            "City",
            "State",
            "Zip Code",
            "E-mail",
        ]
    )
    assert mapping == {
        "external_id": "MRN",
        "first_name": "First Name",
        "last_name": "Last-Name",
        "date_of_birth": "DOB",
        "address_line1": "Street Address",
        "city": "City",
        "state": "State",
        "zip": "Zip Code",
        "email": "E-mail",
    }
    assert sniff_delimiter('"a;b",c,d') == ","
    assert sniff_delimiter("a;b;c,d") == ";"


def test_the_csv_documentation_names_every_column() -> None:
    from pathlib import Path

    from incident_app.services.roster.columns import COLUMNS

    doc = (Path(__file__).resolve().parents[3] / "docs" / "roster_csv.md").read_text()
    assert [c.name for c in COLUMNS if f"| `{c.name}` |" not in doc] == []


# -- the import's fast paths give the answers of the slow ones -------------------------------


def test_a_remembered_date_is_still_checked_against_each_day() -> None:
    assert norm.parse_date("2026-03-02", today=TODAY) == date(2026, 3, 2)
    with pytest.raises(norm.BadValue, match="2026-03-02 is in the future"):
        norm.parse_date("2026-03-02", today=date(2026, 3, 1))  # same text, earlier "today"
    for _ in range(2):  # a text that is not a date stays refused when seen again
        with pytest.raises(norm.BadValue, match="is not a date"):
            norm.parse_date("2026-02-30", today=TODAY)


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("Y", True),
        ("yes", True),
        ("TRUE", True),
        ("Deceased", True),
        (" y ", True),
        ("yEs", True),
        ("N", False),
        ("No", False),
        ("0", False),
        ("", False),
        (" FaLsE ", False),
    ],
)
def test_flags_in_any_case_and_spacing(text: str, flag: bool) -> None:
    assert norm.parse_flag(text, what="deceased") is flag


def test_five_digit_zips_outside_ascii_digits_follow_the_regex() -> None:
    assert norm.normalise_zip("١٢٢٠٧") == "١٢٢٠٧"  # Arabic-Indic digits: \d accepts them
    with pytest.raises(norm.BadValue):
        norm.normalise_zip("¹²²⁰⁷")  # superscripts are digits to isdigit(), not to \d


@pytest.mark.parametrize(
    ("zip_code", "state"),
    [
        ("96701", "HI"),
        ("96799", "AS"),
        ("96910", "GU"),
        ("96940", "PW"),
        ("96950", "MP"),
        ("96970", "MH"),
        ("96971", "GU"),
        ("96601", "AP"),
        ("99501", "AK"),
    ],
)
def test_pacific_zips_need_all_five_digits(zip_code: str, state: str) -> None:
    assert norm.zip_state(zip_code) == state


def test_blind_index_normalisation_of_ascii_matches_nfkc_and_regex() -> None:
    import re
    import unicodedata

    from incident_app.crypto import normalise_for_index

    def reference(value: str) -> str:
        folded = unicodedata.normalize("NFKC", value)
        return re.sub(r"\s+", " ", folded).strip().casefold()

    samples = [chr(c) for c in range(128)]
    samples += [f" a{chr(c)}{chr(c)}B {chr(c)}" for c in range(128)]
    samples += ["Smith\x1fJohn\x1f1980-04-02\x1f12 Elm St\x1f12207", "  MRN 0012  ", "Zoë Ǆ ﬁ"]
    assert [normalise_for_index(s) for s in samples] == [reference(s) for s in samples]
    assert normalise_for_index("Smith\x1fJOHN") == "smith john"
