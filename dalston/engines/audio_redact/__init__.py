"""``audio-redact``: the original audio with silence or a beep over PII spans."""
