"""Reference option lists kept as data: the OCR portal's pick lists and the USPS state codes.

The files live in incident_app/data/ so a wrong OCR label is corrected there, not in code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
OCR_LISTS = ("breach_types", "locations", "phi_types", "safeguards")


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    group: str = ""  # the OCR category of a PHI sub-type

    @property
    def full_label(self) -> str:
        return f"{self.group}: {self.label}" if self.group else self.label


@cache
def _load(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@cache
def ocr_options(list_name: str) -> tuple[Option, ...]:
    """One OCR pick list; PHI types are flattened to their sub-types (plus "Other")."""
    entries = _load("ocr_options.json")[list_name]
    if list_name != "phi_types":
        return tuple(Option(e["code"], e["label"]) for e in entries)
    flat: list[Option] = []
    for category in entries:
        subtypes = category["subtypes"]
        if not subtypes:
            flat.append(Option(category["code"], category["label"]))
        flat.extend(Option(s["code"], s["label"], category["label"]) for s in subtypes)
    return tuple(flat)


def codes(list_name: str) -> frozenset[str]:
    return frozenset(option.code for option in ocr_options(list_name))


def labels(list_name: str, chosen: list[str] | tuple[str, ...]) -> list[str]:
    """Labels of `chosen` codes in the list's order (unknown codes are shown as stored)."""
    by_code = {o.code: o.full_label for o in ocr_options(list_name)}
    return [by_code.get(code, code) for code in chosen]


def phi_categories(chosen: list[str]) -> list[str]:
    """OCR's top-level PHI categories covered by the chosen sub-types (for the OCR export)."""
    by_code = {c["code"]: c["label"] for c in _load("ocr_options.json")["phi_types"]}
    return [
        label
        for code, label in by_code.items()
        if any(c == code or c.startswith(code + ".") for c in chosen)
    ]


@cache
def state_names() -> dict[str, str]:
    return dict(_load("us_states.json")["states"])


def checklist_defaults() -> list[dict]:
    return list(_load("checklists.json")["templates"])
