"""The clients blueprint, shared by its view modules (views: registry and an incident's
clients; notice_views: the 164.410 notices to each client and the client contacts)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clients", __name__)
