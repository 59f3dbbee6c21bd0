"""The role capability matrix. Services call `require`; views only decide what to show.

Per-incident membership (lead / responder / legal on a case) is layered on top by the
incident services; this table is what a role may do regardless of membership.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from incident_app.errors import NotAllowed
from incident_app.models.user import Role


class Capability(StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    VIEW_AUDIT = "view_audit"
    VIEW_ALL_INCIDENTS = "view_all_incidents"
    OPEN_INCIDENTS = "open_incidents"
    MANAGE_ALL_INCIDENTS = "manage_all_incidents"
    SIGN_DETERMINATIONS = "sign_determinations"
    APPROVE_LETTERS = "approve_letters"
    USE_CALCULATOR = "use_calculator"
    # Business-associate mode: the covered-entity client registry (contacts, BAA, letterhead).
    MANAGE_CLIENTS = "manage_clients"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.ADMIN: frozenset(
        {
            Capability.MANAGE_USERS,
            Capability.MANAGE_SETTINGS,
            Capability.VIEW_ALL_INCIDENTS,
            Capability.USE_CALCULATOR,
            Capability.MANAGE_CLIENTS,
        }
    ),
    Role.PRIVACY_OFFICER: frozenset(
        {
            Capability.MANAGE_CLIENTS,
            Capability.VIEW_AUDIT,
            Capability.VIEW_ALL_INCIDENTS,
            Capability.OPEN_INCIDENTS,
            Capability.MANAGE_ALL_INCIDENTS,
            Capability.SIGN_DETERMINATIONS,
            Capability.USE_CALCULATOR,
        }
    ),
    Role.RESPONDER: frozenset({Capability.OPEN_INCIDENTS, Capability.USE_CALCULATOR}),
    Role.LEGAL: frozenset({Capability.APPROVE_LETTERS, Capability.USE_CALCULATOR}),
    Role.AUDITOR: frozenset(
        {Capability.VIEW_AUDIT, Capability.VIEW_ALL_INCIDENTS, Capability.USE_CALCULATOR}
    ),
    # A client's contact holds no capability: it reads only its client's portal
    # (services/clients/portal.py), and every other page answers 404.
    Role.CLIENT_CONTACT: frozenset(),
}


class HasRole(Protocol):
    role: Role
    active: bool


def can(actor: HasRole | None, capability: Capability) -> bool:
    if actor is None or not getattr(actor, "active", False):
        return False
    return capability in ROLE_CAPABILITIES.get(Role(actor.role), frozenset())


def require(actor: HasRole | None, capability: Capability) -> None:
    """Raise NotAllowed unless `actor` holds `capability`."""
    if not can(actor, capability):
        raise NotAllowed("You do not have permission to do that.")
