"""Forced alignment of Whisper's words with pocketsphinx (the ``align`` stage)."""
