"""The impact area: what an incident cost (money, pure), costs and invoices, disruptions of billing,
claims and systems, and the reports built from them.
"""
