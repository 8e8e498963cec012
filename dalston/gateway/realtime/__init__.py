"""Live transcription over WebSockets: one driver, one adapter per protocol."""
