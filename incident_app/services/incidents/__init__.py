"""The incidents area: intake, facts, law-enforcement statements, team and lifecycle; who may see
which incident; the list and dashboard panels; tasks seeded from checklists; the timeline.
"""
