"""textkit: small text, number and sequence helpers."""
