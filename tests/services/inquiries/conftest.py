"""Fixtures of the inquiry service tests."""

from __future__ import annotations

import pytest

from tests.support.mail_merge_helpers import Team
from tests.support.mail_merge_helpers import team


@pytest.fixture
def people(session) -> Team:
    return team(session)
