"""Business-associate mode: the covered-entity client registry (registry), the clients an
incident touched with their per-client counts and deadlines (incident_clients)."""
