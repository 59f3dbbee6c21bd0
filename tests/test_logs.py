"""Production logs are JSON lines that carry extra fields and exceptions."""

from __future__ import annotations

import json
import logging

from incident_app.logs import JsonFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "breachdesk.test", logging.WARNING, __file__, 1, "sweep sent %d reminders", (3,), None
    )
    record.__dict__.update(extra)
    return record


def test_a_record_is_one_json_object_with_extras() -> None:
    line = JsonFormatter().format(_record(incident="BD-2026-0042"))

    payload = json.loads(line)
    assert "\n" not in line
    assert payload["msg"] == "sweep sent 3 reminders" and payload["level"] == "WARNING"
    assert payload["logger"] == "breachdesk.test" and payload["incident"] == "BD-2026-0042"
    assert payload["ts"].endswith("+00:00")


def test_exceptions_are_kept_inside_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record()
        record.exc_info = sys.exc_info()

    payload = json.loads(JsonFormatter().format(record))

    assert "ValueError: boom" in payload["exc"]
