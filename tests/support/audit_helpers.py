"""For tests that open sessions outside an app (other processes, bare engines): the audit key
an app with the same INSTANCE_DIR uses, bound the way the app factory binds it, and the chain
head the migrations create."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from incident_app.audit_keys import load_audit_keys
from incident_app.models.audit import GENESIS_HASH
from incident_app.models.audit import AuditChainHead


def audit_info(instance_dir: Path) -> dict[str, Any]:
    """`info=` for a Session or sessionmaker: signs audit events as an app would."""
    info: dict[str, Any] = {}
    load_audit_keys({"ENV_NAME": "test", "INSTANCE_DIR": instance_dir}).bind_to(info)
    return info


def create_chain_head(engine: sa.Engine) -> None:
    """What migration 0001 does after create_all: the chain head every append locks."""
    with engine.begin() as connection:
        connection.execute(sa.insert(AuditChainHead).values(id=1, seq=0, last_hash=GENESIS_HASH))
