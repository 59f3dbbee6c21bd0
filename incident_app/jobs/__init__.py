"""Scheduler jobs, one module per area exposing JOBS = [(id, func(app), minutes or
callable(app) -> minutes)]. Each func opens one app context and calls one service; the
scheduler (incident_app/scheduler.py) discovers them. Jobs must be idempotent."""
