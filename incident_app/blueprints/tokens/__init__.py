"""Personal access tokens for the REST API, managed by their owner."""
