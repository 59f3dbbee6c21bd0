"""Peers: comparable breaches from OCR's public breach portal."""
