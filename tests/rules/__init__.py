"""Tests of the pure rules package: no fixtures, no database, human-written dates."""
