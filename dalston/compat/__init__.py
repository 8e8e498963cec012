"""Wire-compatible dialects of other vendors' speech-to-text APIs."""
