"""Demo and load-test data: a few years of a health system's incidents, drawn from OCR's listing.

Not a service: it drives the services (and the shared obligations diff) to fill a database.
"""
