"""The demo tests' reference data (see reference_data.py)."""

from __future__ import annotations

import pytest

from tests.demo.reference_data import add_reference_data


@pytest.fixture
def reference_data(session):
    """OCR rows to draw from and a checklist template, committed."""
    add_reference_data(session)
