"""Peers from OCR's public breach portal: parsing the listing (pure), importing it, and comparing
an incident with similar breaches.
"""
