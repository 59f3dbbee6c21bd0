"""Flask CLI commands, one module per group exposing `commands`; discovered by the factory."""
