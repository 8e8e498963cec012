"""``resemblyzer-diarize``: speaker diarization with Resemblyzer d-vectors, offline."""
