"""The impact area: what an incident cost and how it disrupted billing, claims and systems.

`money` (pure: amounts, rates, currencies and choices parsed and formatted), `costs` (cost entries
and their invoices), `disruptions` (outages and halts), `attachments` (invoice and proof files,
listed as evidence through services/evidence.py), `reports` (what the impact and metrics pages
show), `exports` (the ledger as CSV) and `settings` (reporting currency, closing rules).
"""
