"""The roster area: the people an incident affected, imported from CSV, and what follows from them.

In the web request: `upload` (checks, stores and queues a file, column mapping, cancel), `access`
(who may see the PHI; which rows are the roster), `counts` (counts that feed the rules engine, the
overview, an import's progress), `people` (pages, one person, notice status, key rotation of the
PHI), `returns` (returned mail by external id), `returned_letters` (returned mail by letter code,
re-mailed to a new address or counted unreachable), `history` (one person's letters, returns and
inquiries, those of the rows it replaced included; the derived "Re-mail pending") and `exports`
(the roster and an import's report as CSV, through services/csv_export.py). In the worker:
`worker` (claim, final all-or-nothing flip, recovery, purge), `lineage` (on a replace, which new
row is the same person as an old one; their letters, returns and inquiries follow them),
`staging` (batches written from a writer thread, SQLite cache, collector hold-back), `reading`
(stored file → CSV records), `report` (the reject report), `rows` (record → encrypted row),
`normalise` (pure value normalisers), `columns` (header mapping), `duplicates` (merging) and
`pool` (helper processes).
"""
