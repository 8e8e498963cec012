"""``presidio-pii``: PII in a transcript, with audio times and redacted text."""
