"""Planning: the route and letter for one person, from the roster's clear flags."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from incident_app.models.mail_batch import Route
from incident_app.models.mail_batch import Variant
from incident_app.models.roster import AddressStatus
from incident_app.services.mail_merge.planning import Plan
from incident_app.services.mail_merge.planning import Routed
from incident_app.services.mail_merge.planning import route_of


@dataclass
class Flags:
    deceased: bool = False
    nok_address: bool = False
    email_consent: bool = False
    minor: bool = False
    address_status: AddressStatus = AddressStatus.SUFFICIENT
    language: str = ""


@pytest.mark.parametrize(
    ("flags", "email_enabled", "expected"),
    [
        (Flags(), False, (Route.MAIL, Variant.ADULT)),
        (Flags(language="es"), False, (Route.MAIL, Variant.SPANISH)),
        (Flags(minor=True), False, (Route.MAIL, Variant.MINOR)),
        (Flags(deceased=True, nok_address=True), False, (Route.MAIL, Variant.DECEASED)),
        (Flags(deceased=True), True, "no_contact"),
        (Flags(address_status=AddressStatus.INSUFFICIENT), False, "substitute"),
        # Email only for living adults who agreed to it, and only when the organisation allows.
        (Flags(email_consent=True), False, (Route.MAIL, Variant.ADULT)),
        (Flags(email_consent=True, language="es"), True, (Route.EMAIL, Variant.SPANISH)),
        (
            Flags(email_consent=True, address_status=AddressStatus.INSUFFICIENT),
            True,
            (Route.EMAIL, Variant.ADULT),
        ),
        (Flags(email_consent=True, minor=True), True, (Route.MAIL, Variant.MINOR)),
    ],
)
def test_route_of(flags: Flags, email_enabled: bool, expected: object) -> None:
    assert route_of(flags, email_enabled=email_enabled) == expected


def test_plan_counts_by_variant_and_route() -> None:
    plan = Plan(
        routed=[
            Routed(1, Route.MAIL, Variant.ADULT),
            Routed(2, Route.EMAIL, Variant.ADULT),
            Routed(3, Route.MAIL, Variant.MINOR),
        ],
        substitute=[4],
    )
    assert (plan.count(Variant.ADULT), plan.mailed(Variant.ADULT)) == (2, 1)
    assert (plan.mail, plan.email) == (2, 1)
    assert plan.variants == [Variant.ADULT, Variant.MINOR]
