"""ElevenLabs-compatible speech-to-text (``/v1/speech-to-text*``).

Stub: the full dialect lands with the compatibility work.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["elevenlabs"])
