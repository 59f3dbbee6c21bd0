"""The #10 window envelope the letters are mailed in, in inches on the letter sheet, so the
stylesheet's address block and "Re:" line can be checked against it (tests/letters).

A #10 envelope is 9.5in x 4.125in; its window is 4.5in x 1.125in, 0.875in from the left edge
and 0.5in from the bottom edge. The US Letter sheet is folded in thirds (11in / 3 per panel)
with the top panel facing the window. Nominal position: the folded sheet rests on the
envelope's bottom fold and against its left side, as inserting machines leave it (the
worst case for the left edge). Postal guidance wants 1/8in of clear space around the address
inside the window; the sheet can also move in the envelope, so nothing but the address may
show when it shifts by up to 1/4in in any direction.
"""

from __future__ import annotations

from dataclasses import dataclass

ENVELOPE_HEIGHT = 4.125
WINDOW_LEFT = 0.875
WINDOW_WIDTH = 4.5
WINDOW_HEIGHT = 1.125
WINDOW_FROM_BOTTOM = 0.5
PANEL_HEIGHT = 11 / 3  # a Letter sheet folded in thirds

CLEARANCE = 0.125  # around the address block, inside the window
SHIFT = 0.25  # how far the sheet may move in the envelope


@dataclass(frozen=True)
class Box:
    """A rectangle on the sheet, in inches from the sheet's top-left corner."""

    left: float
    top: float
    right: float
    bottom: float

    def grown(self, by: float) -> Box:
        return Box(self.left - by, self.top - by, self.right + by, self.bottom + by)


def window_on_sheet() -> Box:
    """Where the window falls on the sheet in the nominal position."""
    top = ENVELOPE_HEIGHT - WINDOW_FROM_BOTTOM - WINDOW_HEIGHT - (ENVELOPE_HEIGHT - PANEL_HEIGHT)
    return Box(WINDOW_LEFT, top, WINDOW_LEFT + WINDOW_WIDTH, top + WINDOW_HEIGHT)


def address_area() -> Box:
    """Where the address block must stay: the nominal window less the clearance."""
    return window_on_sheet().grown(-CLEARANCE)


def seen_through() -> Box:
    """Everything the window can show when the sheet shifts by up to SHIFT."""
    return window_on_sheet().grown(SHIFT)
