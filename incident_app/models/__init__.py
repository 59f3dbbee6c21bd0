"""SQLAlchemy models, one module per aggregate. Importing this package registers every table.

Every module in this package is imported, so a new aggregate only needs its own module.
"""

from __future__ import annotations

import importlib
import pkgutil

from incident_app.models.audit import AuditChainHead
from incident_app.models.audit import AuditEvent
from incident_app.models.organisation import Organisation
from incident_app.models.system import SchedulerHeartbeat
from incident_app.models.user import Role
from incident_app.models.user import User

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "Organisation",
    "Role",
    "SchedulerHeartbeat",
    "User",
]
