"""``pyannote-diarize``: pyannote.audio pipelines, for users with a HF token."""
