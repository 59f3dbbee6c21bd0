"""Money in the impact ledger, pure: typed-in amounts, rates, currencies and choices parsed
(or refused with a message a person understands), converted and formatted. No database.

Amounts arrive as text and are parsed with `Decimal` into integer cents; floats never touch
money. An amount in another currency than the organisation's needs the exchange rate used
(organisation-currency units per one foreign unit); the converted amount is stored beside
the original, so every total is an exact integer sum.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from incident_app.errors import ValidationFailed

MAX_CENTS = 10**15  # ten trillion in any currency: anything above is a typing mistake
CENT = Decimal("0.01")
_CURRENCY = re.compile(r"[A-Z]{3}")
_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
_RATE = re.compile(r"\d+(\.\d{1,8})?")
E = TypeVar("E", bound=StrEnum)


def parse_amount(text: str | None, *, field_name: str = "amount") -> int:
    """ "1,234.50" → 123450 cents. Raises ValidationFailed for anything else (negative,
    non-numeric, more than two decimals)."""
    cleaned = (text or "").strip().replace(",", "")
    if cleaned.startswith("-"):
        raise ValidationFailed("The amount cannot be negative.", field=field_name)
    if not _AMOUNT.fullmatch(cleaned):
        raise ValidationFailed(
            "Enter the amount as a number, like 1250 or 1,250.75 (at most two decimals).",
            field=field_name,
        )
    cents = int(Decimal(cleaned) * 100)
    if cents >= MAX_CENTS:
        raise ValidationFailed("That amount is too large to be right.", field=field_name)
    return cents


def parse_rate(text: str | None) -> Decimal | None:
    """The exchange rate as a Decimal (None when blank). Raises ValidationFailed."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if not _RATE.fullmatch(cleaned):
        raise ValidationFailed(
            "Enter the exchange rate as a positive number, like 1.0825 (at most 8 decimals).",
            field="exchange_rate",
        )
    rate = Decimal(cleaned)
    if rate <= 0 or rate >= Decimal(10**9):
        raise ValidationFailed("The exchange rate must be above zero.", field="exchange_rate")
    return rate


def check_currency(code: str | None, *, field_name: str = "currency") -> str:
    cleaned = (code or "").strip().upper()
    if not _CURRENCY.fullmatch(cleaned):
        raise ValidationFailed(
            "Give the currency as its three-letter ISO 4217 code, like USD or EUR.",
            field=field_name,
        )
    return cleaned


def convert(amount_cents: int, rate: Decimal | None) -> int:
    """Cents in the organisation's currency, rounded half up."""
    if rate is None:
        return amount_cents
    return int((Decimal(amount_cents) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money(cents: int | None, currency: str) -> str:
    """12345 → "USD 123.45" (for pages, CSV and the PDF; never parsed back)."""
    if cents is None:
        return ""
    return f"{currency} {Decimal(cents) / 100:,.2f}"


def per_individual(total_cents: int, individuals: int) -> int | None:
    if individuals <= 0:
        return None
    return int((Decimal(total_cents) / individuals).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_choice(enum_class: type[E], value: str, field_name: str, message: str) -> E:
    try:
        return enum_class(value)
    except ValueError as error:
        raise ValidationFailed(message, field=field_name) from error
