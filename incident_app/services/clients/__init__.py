"""Business-associate mode: the covered-entity client registry (registry), the clients an
incident touched with their per-client counts and deadlines (incident_clients), the 164.410
notices to each client and their supplements (notices) with the identities they carry
(identities), the contacts invited per client (contacts) and what a contact may read (portal).
See docs/business_associate.md."""
