"""One CSV record → one staged roster row (clear columns + encrypted PHI), or a rejection.

The import's hot path: called once per record, so it works on plain lists and tuples and
builds no ORM objects. PHI goes into one JSON blob encrypted with AES-GCM whose associated data
names incident, import and row (see `phi_aad`), so a blob copied elsewhere does not decrypt.
Just over 400 lines: the blind indexes a search uses (`external_index`, `lookup_index`) must be
made exactly as the import makes them, so they stay beside the row builder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from typing import NamedTuple

from incident_app.crypto import KeyRing
from incident_app.models.roster import AddressStatus
from incident_app.services.roster import normalise as norm

EXTERNAL_PURPOSE = "roster.external_id"
IDENTITY_PURPOSE = "roster.identity"
LOOKUP_PURPOSE = "roster.name_dob"
INDEX_CHARS = 32  # 128 bits of the HMAC: plenty for equality, half the index size
# The same JSON as KeyRing.encrypt_json writes, with the encoder built once (not per row).
_PHI_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _phi_json_encoder() -> Callable[[dict[str, Any]], str]:
    """`_PHI_JSON.encode`, minus its per-call set-up: CPython's C encoder made once, with the
    same separators and flags (tests/services/roster/test_roster_rows.py checks the output is the
    same byte for byte). The blob holds only str values and nested dicts of str, built here,
    so the circular-reference check is not needed."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return _PHI_JSON.encode
    iterencode = make(
        None, _PHI_JSON.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    return lambda obj: "".join(iterencode(obj, 0))


phi_json = _phi_json_encoder()

REJECTED = "rejected"
WARNING = "warning"
MERGED = "merged"

# The staged columns, in the order `RowBuilder.build` returns them.
STAGED_COLUMNS = (
    "incident_id",
    "import_id",
    "row_number",
    "phi",
    "external_index",
    "identity_index",
    "state",
    "zip3",
    "address_status",
    "deceased",
    "minor",
    "nok_address",
    "email_consent",
    "language",
    "notice_status",
    "client_id",
    "lookup_index",
)


class Issue(NamedTuple):
    row: int
    column: str
    outcome: str
    reason: str
    value: str


class RowRejected(Exception):
    def __init__(self, column: str, reason: str, value: str = "") -> None:
        super().__init__(reason)
        self.column, self.reason, self.value = column, reason, value


def phi_aad(incident_id: int, import_id: int, row_number: int) -> bytes:
    return f"{_aad_prefix(incident_id, import_id)}{row_number}".encode()


def _aad_prefix(incident_id: int, import_id: int) -> str:
    return f"roster:{incident_id}:{import_id}:"


def lookup_value(first: str, last: str, birth_iso: str) -> str:
    """What the name + date-of-birth index hashes ("" when a part is missing). The blind
    index casefolds and collapses whitespace, so "  ANA garcía" finds "Ana García"."""
    parts = (last.strip(), first.strip(), birth_iso.strip())
    return "|".join(parts) if all(parts) else ""


def lookup_index(keyring: KeyRing, first: str, last: str, birth_iso: str) -> str | None:
    """The name + date-of-birth blind index of a search (None when a part is blank)."""
    value = lookup_value(first, last, birth_iso)
    if not value:
        return None
    return keyring.blind_index(value, purpose=LOOKUP_PURPOSE)[:INDEX_CHARS]


def external_index(keyring: KeyRing, external_id: str) -> str | None:
    """The blind index of an external id (None for a blank one)."""
    try:
        return keyring.blind_index(external_id, purpose=EXTERNAL_PURPOSE)[:INDEX_CHARS]
    except ValueError:  # blank once normalised
        return None


@dataclass(slots=True)
class Address:
    line1: str
    line2: str
    city: str
    state: str | None
    zip: str | None
    country: str
    status: AddressStatus

    def as_phi(self) -> dict[str, str]:
        values = (
            ("a1", self.line1),
            ("a2", self.line2),
            ("city", self.city),
            ("st", self.state),
            ("zip", self.zip),
            ("ctry", self.country),
        )
        return {key: value for key, value in values if value}


# The field names of each address ('' for the person, 'nok_', 'guardian_'), built once.
_ADDRESS_FIELDS = {
    prefix: (
        f"{prefix}address_line1",
        f"{prefix}address_line2",
        f"{prefix}city",
        f"{prefix}zip",
        f"{prefix}state",
    )
    for prefix in ("", "nok_", "guardian_")
}


class Built(NamedTuple):
    """The outcome of one chunk of records."""

    accepted: list[tuple[Any, ...]]
    issues: list[Issue]
    read: int


@dataclass(frozen=True)
class BuilderSpec:
    """Everything a RowBuilder needs but the key ring: what a pool worker is started with."""

    headers: tuple[str, ...]
    mapping: dict[str, str]
    incident_id: int
    import_id: int
    today: date
    # Business-associate mode: the incident's clients as (name, id); empty = no client column.
    clients: tuple[tuple[str, int], ...] = ()

    def builder(self, keyring: KeyRing) -> RowBuilder:
        return RowBuilder(
            headers=self.headers,
            mapping=self.mapping,
            keyring=keyring,
            incident_id=self.incident_id,
            import_id=self.import_id,
            today=self.today,
            clients=self.clients,
        )


class RowBuilder:
    """Turns records of one file (known headers, confirmed mapping) into staged rows."""

    def __init__(
        self,
        *,
        headers: Sequence[str],
        mapping: Mapping[str, str],
        keyring: KeyRing,
        incident_id: int,
        import_id: int,
        today: date,
        clients: Sequence[tuple[str, int]] = (),
    ) -> None:
        position = {header: index for index, header in enumerate(headers)}
        self.clients = {name.casefold(): client_id for name, client_id in clients}
        self.client_names = ", ".join(sorted(name for name, _ in clients))
        self.positions = [(name, position[header]) for name, header in mapping.items()]
        self.width = len(headers)
        self.keyring = keyring
        self.incident_id = incident_id
        self.import_id = import_id
        self.today = today
        self._external_index = keyring.blind_indexer(EXTERNAL_PURPOSE)
        self._identity_index = keyring.blind_indexer(IDENTITY_PURPOSE)
        self._lookup_index = keyring.blind_indexer(LOOKUP_PURPOSE)
        self._aad_prefix = _aad_prefix(incident_id, import_id)  # phi_aad's constant part

    def build_chunk(self, chunk: Sequence[tuple[int, list[str]]]) -> Built:
        """`build` over consecutive (row, record) pairs: the accepted rows and every issue, in
        row order. What a pool worker sends back for a chunk."""
        accepted: list[tuple[Any, ...]] = []
        issues: list[Issue] = []
        build = self.build
        for row, record in chunk:
            staged, found = build(record, row)
            if found:
                issues.extend(found)
            if staged is not None:
                accepted.append(staged)
        return Built(accepted, issues, len(chunk))

    def build(self, record: list[str], row: int) -> tuple[tuple[Any, ...] | None, list[Issue]]:
        """(staged row or None, issues). `row` is the spreadsheet row (the header is row 1)."""
        if len(record) != self.width:
            reason = (
                f"this row has {len(record)} fields but the header has {self.width} "
                "(a stray delimiter or quote?)"
            )
            return None, [Issue(row, "", REJECTED, reason, "")]
        values = self._values(record)
        issues: list[Issue] = []
        try:
            staged = self._staged(values, row, issues)
        except RowRejected as error:
            return None, [*issues, Issue(row, error.column, REJECTED, error.reason, error.value)]
        return staged, issues

    def _values(self, record: list[str]) -> dict[str, str]:
        """Our field name → cleaned cell (norm.clean), blank and placeholder cells left out."""
        flat = "".join(record)
        if "  " in flat or "\t" in flat or "\n" in flat or "\r" in flat:  # rare: clean in full
            clean = norm.clean
            return {
                name: value
                for name, index in self.positions
                if (cell := record[index]) and (value := clean(cell))
            }
        # The usual record: norm.clean reduces to strip and the placeholder check.
        placeholders, short = norm.PLACEHOLDERS, norm.PLACEHOLDER_MAX
        return {
            name: value
            for name, index in self.positions
            if (value := record[index].strip())
            and (len(value) > short or value.casefold() not in placeholders)
        }

    def _staged(self, v: dict[str, str], row: int, issues: list[Issue]) -> tuple[Any, ...]:
        client_id = self._client(v)
        first, last = v.get("first_name", ""), v.get("last_name", "")
        if not (first or last):
            raise RowRejected("last_name", "the name is missing (first and last name are blank)")
        birth = _date(v, "date_of_birth", self.today)
        home = _address(v, "", row, issues)
        deceased = _flag(v, "deceased")
        minor = self._minor(v, birth)
        phi: dict[str, Any] = {"fn": first, "ln": last, **home.as_phi()}
        birth_iso = birth.isoformat() if birth is not None else ""
        if birth_iso:
            phi["dob"] = birth_iso
        email_ok = self._contact(v, phi, row, issues)
        nok = _person_at(v, "nok", row, issues, phi) if deceased else None
        guardian = _person_at(v, "guardian", row, issues, phi) if minor else None
        status = home.status
        if guardian is not None and guardian.status is AddressStatus.SUFFICIENT:
            status = AddressStatus.SUFFICIENT  # a minor's letter goes to the parent/guardian
        if v.get("external_id"):
            phi["ext"] = v["external_id"]
        # phi_aad(incident, import, row), with its constant part made once.
        blob = self.keyring.encrypt(
            phi_json(phi).encode("utf-8"), f"{self._aad_prefix}{row}".encode()
        )
        return (
            self.incident_id,
            self.import_id,
            row,
            blob,
            _short(self._external_index(v.get("external_id", ""))),
            self._identity(first, last, birth_iso, home),
            home.state,
            home.zip[:3] if home.zip and norm.is_us(home.country) else None,
            status.value,
            deceased,
            minor,
            bool(nok and nok.status is AddressStatus.SUFFICIENT),
            email_ok,
            norm.language_code(v.get("language", "")),
            "pending",
            client_id,
            _short(self._lookup_index(lookup_value(first, last, birth_iso))),
        )

    def _client(self, v: dict[str, str]) -> int | None:
        """The row's client when the incident names clients (business-associate mode): a
        blank or unknown one refuses the row, naming the clients that would do."""
        if not self.clients:
            return None
        name = v.get("client", "")
        if not name:
            raise RowRejected(
                "client",
                f"the client is blank: name one of this incident's clients ({self.client_names})",
            )
        client_id = self.clients.get(" ".join(name.split()).casefold())
        if client_id is None:
            raise RowRejected(
                "client",
                f"{name!r} is not one of this incident's clients ({self.client_names})",
                name,
            )
        return client_id

    def _minor(self, v: dict[str, str], birth: date | None) -> bool:
        if v.get("minor"):
            return _flag(v, "minor")
        return birth is not None and norm.age_on(birth, self.today) < 18

    def _contact(
        self, v: dict[str, str], phi: dict[str, Any], row: int, issues: list[Issue]
    ) -> bool:
        """Stores email/phone; True when email notice is agreed and the address is usable."""
        email, phone = v.get("email", ""), v.get("phone", "")
        consent = _flag(v, "email_consent")
        if phone:
            phi["phone"] = phone
        if not email:
            return False
        phi["email"] = email
        if norm.is_email(email):
            return consent
        issues.append(
            Issue(
                row, "email", WARNING, "not an email address: email notice will not be used", email
            )
        )
        return False

    def _identity(self, first: str, last: str, birth_iso: str, home: Address) -> str | None:
        # Same name + date of birth + address = same person (for duplicate merging).
        if not (first and last and birth_iso and home.line1 and home.zip):
            return None
        value = "\x1f".join((last, first, birth_iso, home.line1, home.zip[:5]))
        return _short(self._identity_index(value))


def _short(token: str | None) -> str | None:
    return token[:INDEX_CHARS] if token is not None else None


def _flag(v: dict[str, str], name: str) -> bool:
    try:
        return norm.parse_flag(v.get(name, ""), what=name.replace("_", " "))
    except norm.BadValue as error:
        raise RowRejected(name, str(error), v.get(name, "")) from None


def _date(v: dict[str, str], name: str, today: date) -> date | None:
    text = v.get(name, "")
    if not text:
        return None
    try:
        return norm.parse_date(text, today=today)
    except norm.BadValue as error:
        raise RowRejected(name, str(error), text) from None


def _address(v: dict[str, str], prefix: str, row: int, issues: list[Issue]) -> Address:
    """The address under `prefix` ('' for the person, 'nok_', 'guardian_')."""
    line1_key, line2_key, city_key, zip_key, state_key = _ADDRESS_FIELDS[prefix]
    line1, line2, city = v.get(line1_key, ""), v.get(line2_key, ""), v.get(city_key, "")
    country = v.get("country", "") if not prefix else ""
    zip_code = _zip(v, zip_key, row, issues) if norm.is_us(country) else (v.get(zip_key) or None)
    try:
        state = _state(v.get(state_key, ""), zip_code, country)
    except norm.BadValue as error:
        if not prefix:
            raise RowRejected("state", str(error), v.get("state", "")) from None
        issues.append(Issue(row, state_key, WARNING, str(error), v[state_key]))
        state = None
    status = norm.address_status(
        line1=line1, city=city, state=state, zip_code=zip_code, country=country
    )
    return Address(line1, line2, city, state, zip_code, country, status)


def _zip(v: dict[str, str], name: str, row: int, issues: list[Issue]) -> str | None:
    text = v.get(name, "")
    if not text:
        return None
    try:
        return norm.normalise_zip(text)
    except norm.BadValue as error:
        # Kept, not rejected: the person still counts; the address becomes insufficient.
        issues.append(Issue(row, name, WARNING, f"{error}; address treated as insufficient", text))
        return None


def _state(text: str, zip_code: str | None, country: str) -> str | None:
    """The USPS code given or derived from the ZIP; BadValue for an unknown US state."""
    if text:
        try:
            return norm.state_code(text)
        except norm.BadValue:
            if norm.is_us(country):
                raise
            return None  # a province or region abroad: not a US jurisdiction
    if zip_code and norm.is_us(country):
        return norm.zip_state(zip_code)
    return None


def _person_at(
    v: dict[str, str], who: str, row: int, issues: list[Issue], phi: dict[str, Any]
) -> Address | None:
    """Next of kin / guardian: name and address into the blob; None when nothing given."""
    name = v.get(f"{who}_name", "")
    address = _address(v, f"{who}_", row, issues)
    if not name and address.status is AddressStatus.MISSING:
        return None
    phi[who] = {"name": name, **address.as_phi()}
    return address
