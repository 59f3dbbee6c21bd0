"""The incidents area: `intake` (opening an incident), `facts` (the facts, their validation and
edits), `statements` (law-enforcement statements), `team`, `lifecycle` (status transitions);
`access` (who may see and change which incident), `listing` (the list and dashboard panels),
`tasks` seeded from `checklists`, and the `timeline`.
"""
