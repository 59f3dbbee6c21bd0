"""Pure normalisers for roster values: states, ZIP codes, dates, flags, addresses.

No database, no clock ("today" is an argument), no I/O: the import calls these a million times
per file, so they are small and table-driven. Each returns a normalised value or raises
`BadValue` with a message a person can act on. Slightly over 400 lines because of its lookup tables
(state names and spellings, languages); the functions are short.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any
from typing import cast

from incident_app.models.roster import AddressStatus


class BadValue(ValueError):
    """A value that cannot be normalised; the message is shown in the reject report."""


# USPS codes for the 50 states, DC, the territories, the freely associated states and the
# military "states" (AA/AE/AP). HITECH's "State" includes DC and the territories, so they count
# as jurisdictions for the media threshold like any state.
STATE_NAMES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "DC": "District of Columbia",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
    "GU": "Guam",
    "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
    "FM": "Micronesia",
    "MH": "Marshall Islands",
    "PW": "Palau",
    "AA": "Armed Forces Americas",
    "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
}

_EXTRA_STATE_SPELLINGS = {
    "washington dc": "DC",
    "washington d c": "DC",
    "d c": "DC",
    "dist of columbia": "DC",
    "virgin islands": "VI",
    "us virgin islands": "VI",
    "united states virgin islands": "VI",
    "commonwealth of puerto rico": "PR",
    "northern marianas": "MP",
    "federated states of micronesia": "FM",
}


def _state_key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^a-z ]", " ", folded.casefold()).split())


STATE_LOOKUP: dict[str, str] = {
    **{_state_key(name): code for code, name in STATE_NAMES.items()},
    **{code.casefold(): code for code in STATE_NAMES},
    **_EXTRA_STATE_SPELLINGS,
}

# First three ZIP digits → USPS code, as inclusive ranges. Prefixes not listed are unassigned.
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"),
    (6, 7, "PR"),
    (8, 8, "VI"),
    (9, 9, "PR"),
    (10, 27, "MA"),
    (28, 29, "RI"),
    (30, 38, "NH"),
    (39, 49, "ME"),
    (50, 54, "VT"),
    (55, 55, "MA"),
    (56, 59, "VT"),
    (60, 69, "CT"),
    (70, 89, "NJ"),
    (90, 98, "AE"),
    (100, 149, "NY"),
    (150, 196, "PA"),
    (197, 199, "DE"),
    (200, 200, "DC"),
    (201, 201, "VA"),
    (202, 205, "DC"),
    (206, 219, "MD"),
    (220, 246, "VA"),
    (247, 268, "WV"),
    (270, 289, "NC"),
    (290, 299, "SC"),
    (300, 319, "GA"),
    (320, 339, "FL"),
    (340, 340, "AA"),
    (341, 349, "FL"),
    (350, 369, "AL"),
    (370, 385, "TN"),
    (386, 397, "MS"),
    (398, 399, "GA"),
    (400, 427, "KY"),
    (430, 459, "OH"),
    (460, 479, "IN"),
    (480, 499, "MI"),
    (500, 528, "IA"),
    (530, 549, "WI"),
    (550, 567, "MN"),
    (569, 569, "DC"),
    (570, 577, "SD"),
    (580, 588, "ND"),
    (590, 599, "MT"),
    (600, 629, "IL"),
    (630, 658, "MO"),
    (660, 679, "KS"),
    (680, 693, "NE"),
    (700, 714, "LA"),
    (716, 729, "AR"),
    (730, 732, "OK"),
    (733, 733, "TX"),
    (734, 749, "OK"),
    (750, 799, "TX"),
    (800, 816, "CO"),
    (820, 831, "WY"),
    (832, 838, "ID"),
    (840, 847, "UT"),
    (850, 865, "AZ"),
    (870, 884, "NM"),
    (885, 885, "TX"),
    (889, 898, "NV"),
    (900, 961, "CA"),
    (962, 966, "AP"),
    (967, 968, "HI"),
    (969, 969, "GU"),
    (970, 979, "OR"),
    (980, 994, "WA"),
    (995, 999, "AK"),
)
ZIP3_STATE: dict[str, str] = {
    f"{prefix:03d}": code for low, high, code in _ZIP3_RANGES for prefix in range(low, high + 1)
}
# Five-digit exceptions inside shared prefixes (967 is Hawaii except American Samoa's 96799;
# 969 is shared by Guam, the Northern Marianas and the freely associated states).
_ZIP5_RANGES: tuple[tuple[int, int, str], ...] = (
    (96799, 96799, "AS"),
    (96910, 96932, "GU"),
    (96939, 96940, "PW"),
    (96941, 96944, "FM"),
    (96950, 96952, "MP"),
    (96960, 96970, "MH"),
)

_ZIP = re.compile(r"(\d{5})(?:-?(\d{4}))?")
_EXCEL_ZIP = re.compile(r"\d{4}")  # a New England ZIP whose leading zero a spreadsheet dropped


def state_code(text: str) -> str:
    """A USPS code for a code or a name ('ny', 'New York', 'D.C.' → 'NY', 'NY', 'DC')."""
    code = _STATE_CACHE.get(text)
    if code is not None:
        return code
    key = _state_key(text)
    code = STATE_LOOKUP.get(key) or STATE_LOOKUP.get(key.replace(" ", ""))
    if code is None:
        raise BadValue(
            f"unknown state {text!r}: use a USPS code such as NY or a full name such as New York"
        )
    if len(_STATE_CACHE) < 10_000:  # spellings repeat: remember them, within bounds
        _STATE_CACHE[text] = code
    return code


_STATE_CACHE: dict[str, str] = {}


def normalise_zip(text: str) -> str:
    """'02134', '2134' (leading zero lost), '02134-1234' or '021341234' → '02134' / '02134-1234'."""
    value = text.strip()
    if len(value) == 5 and value.isdecimal():  # the usual case; same answer as the regex
        return value
    if _EXCEL_ZIP.fullmatch(value):
        value = "0" + value
    match = _ZIP.fullmatch(value)
    if match is None:
        raise BadValue(f"ZIP code {text!r} is not 5 digits or ZIP+4 (12345 or 12345-6789)")
    five, plus4 = match.groups()
    return f"{five}-{plus4}" if plus4 else five


def zip_state(zip_code: str) -> str | None:
    """The USPS code a normalised ZIP belongs to, or None for an unassigned prefix."""
    five = int(zip_code[:5])
    if _ZIP5_LOW <= five <= _ZIP5_HIGH:  # only a few Pacific prefixes need all five digits
        for low, high, code in _ZIP5_RANGES:
            if low <= five <= high:
                return code
    return ZIP3_STATE.get(zip_code[:3])


_ZIP5_LOW = min(low for low, _, _ in _ZIP5_RANGES)
_ZIP5_HIGH = max(high for _, high, _ in _ZIP5_RANGES)


_US_COUNTRIES = frozenset(
    {"", "us", "usa", "u s", "u s a", "united states", "united states of america", "america"}
)


def is_us(country: str) -> bool:
    return not country or _state_key(country) in _US_COUNTRIES


def parse_date(text: str, *, today: date, what: str = "date of birth") -> date:
    """YYYY-MM-DD, MM/DD/YYYY (also M/D/YYYY) or YYYYMMDD; never in the future, not before 1880.

    Two-digit years are refused: '01/02/03' has no single reading.
    """
    value = text.strip()
    day = _DATE_CACHE.get(value, _UNSEEN)
    if day is _UNSEEN:
        try:
            day = _parse_date_forms(value)
        except ValueError:
            day = None
        if len(_DATE_CACHE) < _DATE_CACHE_SIZE:  # birth dates repeat a lot in a big roster
            _DATE_CACHE[value] = day
    if day is None:
        raise BadValue(f"{what} {text!r} is not a date: use YYYY-MM-DD or MM/DD/YYYY")
    if day > today:
        raise BadValue(f"{what} {day.isoformat()} is in the future")
    if day.year < 1880:
        raise BadValue(f"{what} {day.isoformat()} is before 1880")
    return cast(date, day)


# Text → parsed date (or None when it is not a date), before the checks that depend on "today".
_DATE_CACHE: dict[str, date | None] = {}
_DATE_CACHE_SIZE = 100_000
_UNSEEN: Any = object()


def _parse_date_forms(value: str) -> date | None:
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return date(int(value[:4]), int(value[5:7]), int(value[8:]))
    if "/" in value:
        parts = value.split("/")
        if len(parts) == 3 and len(parts[2]) == 4 and all(p.isdigit() for p in parts):
            return date(int(parts[2]), int(parts[0]), int(parts[1]))
        return None
    if len(value) == 8 and value.isdigit():
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    return None


_TRUE = frozenset({"y", "yes", "true", "t", "1", "x", "deceased", "minor"})
_FALSE = frozenset({"", "n", "no", "false", "f", "0"})
# The spellings seen in practice, looked up as they are (no strip or casefold needed).
_FLAGS = {
    **{v: True for word in _TRUE for v in (word, word.upper(), word.capitalize())},
    **{v: False for word in _FALSE for v in (word, word.upper(), word.capitalize())},
}


def parse_flag(text: str, *, what: str) -> bool:
    """Y/N, yes/no, true/false, 1/0, X or blank (blank means no)."""
    known = _FLAGS.get(text)
    if known is not None:
        return known
    folded = text.strip().casefold()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise BadValue(f"{what} {text!r} is not yes or no (use Y/N, yes/no, true/false or 1/0)")


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def is_email(text: str) -> bool:
    return bool(_EMAIL.fullmatch(text.strip()))


PLACEHOLDERS = frozenset({"n/a", "na", "none", "null", "unknown", "-", "--", "?", "tbd"})
PLACEHOLDER_MAX = max(len(word) for word in PLACEHOLDERS)


def clean(text: str) -> str:
    """Trim, collapse inner whitespace, and turn placeholders ('N/A', 'unknown', '-') into ''."""
    value = text.strip()
    if "  " in value or "\t" in value or "\n" in value or "\r" in value:
        value = " ".join(value.split())
    if len(value) <= PLACEHOLDER_MAX and value.casefold() in PLACEHOLDERS:
        return ""
    return value


def address_status(
    *, line1: str, city: str, state: str | None, zip_code: str | None, country: str = ""
) -> AddressStatus:
    """Whether first-class mail can be addressed (164.404(d)(1)).

    US: street line, city, a known state and a valid ZIP. Abroad: street line, city and a
    country. Nothing at all (no street, city or ZIP) is MISSING; anything in between is
    INSUFFICIENT — both count towards substitute notice for living people.
    """
    if not (line1 or city or zip_code):
        return AddressStatus.MISSING
    if is_us(country):
        complete = bool(line1 and city and state and zip_code)
    else:
        complete = bool(line1 and city)
    return AddressStatus.SUFFICIENT if complete else AddressStatus.INSUFFICIENT


LANGUAGES = {
    "english": "en",
    "spanish": "es",
    "espanol": "es",
    "español": "es",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "zh",
    "vietnamese": "vi",
    "korean": "ko",
    "tagalog": "tl",
    "filipino": "tl",
    "russian": "ru",
    "arabic": "ar",
    "french": "fr",
    "haitian creole": "ht",
    "creole": "ht",
    "portuguese": "pt",
    "german": "de",
    "polish": "pl",
    "japanese": "ja",
    "italian": "it",
    "hindi": "hi",
    "somali": "so",
    "amharic": "am",
    "hmong": "hmn",
}


def language_code(text: str) -> str:
    """'Spanish' / 'es' / 'ES-us' → 'es'; an unknown name is kept (trimmed to 35 characters)."""
    folded = text.strip().casefold()
    if not folded:
        return ""
    if folded in LANGUAGES:
        return LANGUAGES[folded]
    base = folded.replace("_", "-").split("-")[0]
    if len(base) in (2, 3) and base.isalpha():
        return base
    return folded[:35]


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> str:
    """A cell safe to open in a spreadsheet: text starting like a formula gets a leading "'".

    Applied to every cell of every CSV the roster exports (OWASP "CSV injection").
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
