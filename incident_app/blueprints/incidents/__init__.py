"""Incident case pages."""
