"""After the breach: impact ledger, corrective action plan, post-incident review."""
