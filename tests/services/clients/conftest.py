"""Fixtures shared by the client service tests (see tests/support/client_helpers.py)."""

from __future__ import annotations

import pytest

from incident_app.models.user import Role
from tests.support.client_helpers import two_clinics
from tests.support.factories import make_user
from tests.support.roster_helpers import store_at


@pytest.fixture
def store(tmp_path):
    return store_at(tmp_path)


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


@pytest.fixture
def world(session, officer, store):
    return two_clinics(session, officer, store)
