"""The client portal: what a covered-entity client's contact reads and acknowledges."""
