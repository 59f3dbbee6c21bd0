"""Form fields that refuse values the database or the date arithmetic cannot hold (issue 24).

Drop-in replacements for the WTForms fields of the same names: a date outside 1900–2199, an
integer beyond PostgreSQL's `integer` (±2,147,483,647) or a record id beyond it becomes a field
error a person understands instead of an OverflowError (a 500) deep in a service or a driver.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from wtforms import fields

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)  # deadlines counted from it stay far below Python's 9999-12-31
MAX_INT = 2**31 - 1  # PostgreSQL `integer`; SQLite overflows at 2**63
DATE_MESSAGE = f"Enter a date between {MIN_DATE:%Y-%m-%d} and {MAX_DATE:%Y-%m-%d} (year 1900–2199)."
INT_MESSAGE = f"Enter a whole number between -{MAX_INT:,} and {MAX_INT:,}."


def _refuse(field: fields.Field, message: str) -> None:
    field.data = None
    raise ValueError(message)


class DateField(fields.DateField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not MIN_DATE <= self.data <= MAX_DATE:
            _refuse(self, DATE_MESSAGE)


class DateTimeLocalField(fields.DateTimeLocalField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        value: datetime | None = self.data
        if value is not None and not MIN_DATE <= value.date() <= MAX_DATE:
            _refuse(self, DATE_MESSAGE)


class IntegerField(fields.IntegerField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not -MAX_INT <= self.data <= MAX_INT:
            _refuse(self, INT_MESSAGE)


def record_id(value: object) -> int:
    """`coerce=` for a select of records: a number a table's id column can hold."""
    number = int(value)  # type: ignore[call-overload]
    if not 0 < number <= MAX_INT:
        raise ValueError("Choose from the list.")
    return number
