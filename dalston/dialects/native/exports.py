"""``.../export/{srt|vtt|txt|json}`` for jobs and realtime sessions alike: one set
of query parameters, one renderer (``dalston.transcript.export``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response

from dalston.transcript import Transcript
from dalston.transcript.export import CueOptions, ExportFormat, render


def cue_options(
    include_speakers: bool = False,
    max_line_length: Annotated[int, Query(ge=10, le=200)] = 42,
    max_lines: Annotated[int, Query(ge=1, le=10)] = 2,
) -> CueOptions:
    return CueOptions(
        max_line_length=max_line_length,
        max_lines=max_lines,
        include_speakers=include_speakers,
    )


CueQuery = Annotated[CueOptions, Depends(cue_options)]


def export_response(
    transcript: Transcript, fmt: ExportFormat, options: CueOptions, name: str
) -> Response:
    return Response(
        content=render(transcript, fmt, options),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt.value}"'},
    )
