"""Demo and load-test data: a few years of a health system's incidents, drawn from OCR's listing.

Not a service: it drives the services to fill a database. Ten thousand incidents through the
per-request services would take most of an hour (~200 ORM round trips per incident), so the
incident history is computed in Python with the services' own building blocks
(`incidents.validate_facts`, `obligations.evaluation`, the pure `obligations.diff` that
`obligations.sync` applies, `questionnaire.clean_answers`/`outcome`, `audit.event_hash`) and
written with bulk inserts in one transaction; tests/demo proves the rows equal to the
services' own. `seed` is the entry point and orchestration (users, history, rosters, report);
`drawing` turns OCR's listing into incident facts; `staff` holds the demo users; `planning`
decides each incident's team, lifecycle and assessment (a Plan); `cases` replays one Plan into
rows as the services write them; `history` writes all plans in one transaction; `writing` does
the bulk inserts and the audit chain; `roster_files` generates the synthetic roster CSVs.
"""
