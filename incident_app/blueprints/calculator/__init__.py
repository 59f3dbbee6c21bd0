"""What-if deadline calculator."""
