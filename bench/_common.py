"""Helpers shared by the bench scripts: process-tree memory, sample letter data."""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kb(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[1]) * PAGE_KB


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except FileNotFoundError:
            continue
    return found


def tree_rss_kb(root: int) -> int:
    """Resident memory of `root` plus all its descendants, summed (read from /proc)."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += _rss_kb(pid)
        pending += _children(pid)
    return total


class PeakTreeRss:
    """Samples the summed RSS of this process and its children every `interval` seconds."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(os.getpid()))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, tree_rss_kb(os.getpid()))


ORGANISATION: dict[str, Any] = {
    "name": "Riverbend Community Health",
    "address_lines": ["1200 Harbor Avenue, Suite 4", "Springfield, IL 62701"],
    "toll_free_number": "1-800-555-0142",
    "email": "privacy@riverbend.example",
    "website": "www.riverbend.example/notice",
    "logo_data_uri": None,
    "signatory_name": "Dana O'Brien",
    "signatory_title": "Privacy Officer",
}

BREACH: dict[str, Any] = {
    "what_happened": (
        "On March 3, 2025 someone broke into a billing laptop that an employee had left in a "
        "car. The laptop was protected by a password, but its disk was not encrypted."
    ),
    "breach_start": date(2025, 3, 3),
    "breach_end": date(2025, 3, 4),
    "discovered_on": date(2025, 3, 6),
    "phi_types": ["Full name", "Home address", "Date of birth", "Health insurance number"],
    "steps_for_individuals": [
        "Review the statements from your health insurer and report services you did not get.",
        "Enroll in the free credit monitoring we offer for 24 months.",
        "Be careful with calls or emails that ask for your personal information.",
    ],
    "what_we_are_doing": [
        "We reported the theft to the police.",
        "We are encrypting every laptop and retraining our staff.",
    ],
}

NAMES = [
    "Zoë Núñez",
    "Seán O'Brien",
    "Łukasz Wróbel",
    "Renée Müller",
    "José Peña",
    "Ana María de la Cruz Fernández-Villaseñor",
    "דוד כהן",
    "محمد عبد الله",
    "Kim Lee",
]


def recipients(count: int) -> list[dict[str, Any]]:
    return [
        {
            "letter_id": f"RCH-2025-0007-{number:06d}",
            "name": f"{NAMES[number % len(NAMES)]} {number}",
            "address_lines": [f"{100 + number} Elm Street", "Peoria, IL 61602"],
        }
        for number in range(count)
    ]


def common_context() -> dict[str, Any]:
    return {"organisation": ORGANISATION, "letter_date": date(2025, 4, 1), "breach": BREACH}
