"""Reference option lists kept as data: the OCR portal's pick lists and the USPS state codes.

The files live in incident_app/data/ so a wrong OCR label is corrected there, not in code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypedDict
from typing import cast

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


class OcrEntry(TypedDict):
    """One entry of an OCR pick list in ocr_options.json."""

    code: str
    label: str


class PhiCategory(OcrEntry):
    """A top-level PHI type of ocr_options.json, with its sub-types (maybe none)."""

    subtypes: list[OcrEntry]


class ChecklistItemSpec(TypedDict):
    title: str
    due_days: int


class ChecklistSpec(TypedDict):
    """A default checklist template in checklists.json (the 0004 migration installs them)."""

    name: str
    breach_types: list[str]
    items: list[ChecklistItemSpec]


@cache
def _load(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    return loaded


def _ocr_list(list_name: str) -> list[OcrEntry]:
    # The casts state the data files' shapes: mypy cannot see into JSON.
    return cast(list[OcrEntry], _load("ocr_options.json")[list_name])


def _phi_categories() -> list[PhiCategory]:
    return cast(list[PhiCategory], _load("ocr_options.json")["phi_types"])


@cache
def ocr_options(list_name: str) -> tuple[Option, ...]:
    """One OCR pick list; PHI types are flattened to their sub-types (plus "Other")."""
    if list_name != "phi_types":
        return tuple(Option(e["code"], e["label"]) for e in _ocr_list(list_name))
    flat: list[Option] = []
    for category in _phi_categories():
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
    by_code = {c["code"]: c["label"] for c in _phi_categories()}
    return [
        label
        for code, label in by_code.items()
        if any(c == code or c.startswith(code + ".") for c in chosen)
    ]


@cache
def state_names() -> dict[str, str]:
    return dict(cast(dict[str, str], _load("us_states.json")["states"]))


def checklist_defaults() -> list[ChecklistSpec]:
    return list(cast(list[ChecklistSpec], _load("checklists.json")["templates"]))
