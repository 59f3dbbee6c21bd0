"""Logging: JSON lines in production (one object per line, for log shippers), plain in dev.

Log records never carry PHI: services log identifiers (incident reference, ids), not names.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC
from datetime import datetime

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """`{"ts": ..., "level": ..., "logger": ..., "msg": ..., **extra}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure(log_format: str, level: str = "INFO") -> None:
    """Route the root logger to stderr as JSON lines or plain text."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that narrate every step at INFO: keep their warnings only.
    # APScheduler logs every 5-second tick of the worker jobs at INFO.
    for noisy in (
        "weasyprint",
        "fontTools",
        "alembic.runtime.plugins",
        "apscheduler.executors",
        "apscheduler.scheduler",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
