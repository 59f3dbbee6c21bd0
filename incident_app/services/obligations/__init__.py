"""The obligations area: stored facts → the rules engine → Obligation rows, and what the pages read.

`evaluation` turns an incident's stored facts into `rules.BreachFacts` and a determination (and
runs the what-if calculator); `diff` is the pure difference between stored and computed
obligations (shared with the demo seeder); `sync` applies it, the only writer of computed
obligations, with the use cases that re-sync; `reading` is what the incident pages, lists and
reminders read; `overrides` records a privacy officer's due date or determination beside the
computed one.
"""
