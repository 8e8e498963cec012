"""Live transcription: audio framing, VAD, the session state machine, the decoder
and the router that places sessions on workers. Engines are handed in by the
assembly (``dalston.runtime``), never imported."""
