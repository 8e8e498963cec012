"""The ElevenLabs speech-to-text dialect (batch), one job per module:

- ``request``: the multipart form, checked field by field;
- ``tokens``: transcript words and audio events as ElevenLabs tokens;
- ``response``: Chunk / Multichannel response bodies;
- ``export_options``, ``segments``, ``formats``, ``documents``:
  ``additional_formats`` (srt, txt, segmented_json, html, docx, pdf);
- ``results``: a finished job as a response, and its stored view options;
- ``webhooks``: webhook registry, payload and delivery.

Routes: ``dalston.dialects.elevenlabs.routes``.
"""
