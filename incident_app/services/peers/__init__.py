"""Peers from OCR's public breach portal: `ocr_parsing` reads the listing (pure), `importing`
loads it into the reference table, `criteria` says what "comparable" means, `distribution`
summarises breach sizes (pure), and `comparison` finds comparable breaches and reports on them.
"""
