"""Incident case pages: one blueprint (`blueprint.bp`, registered as `views.bp`) whose routes
are in `views` (list, intake, overview, lifecycle, facts, statements, team) and `casework`
(timeline, tasks, evidence, checklist templates).
"""
