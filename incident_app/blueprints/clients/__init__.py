"""Business-associate mode: the client registry and the clients of an incident."""
