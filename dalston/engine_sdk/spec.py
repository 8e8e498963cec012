"""What an engine declares about itself, once.

Each engine package (``dalston/engines/<name>/__init__.py``) holds one
``SPEC = EngineSpec(...)``, and its engine class carries it (``spec = SPEC``). The
registry, the DAG, the services and the CLI read these declarations, never a
literal engine id. A spec names its class by ``"module:Class"`` so that reading it
imports no engine code (torch and spaCy take seconds to import).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineSpec:
    id: str
    stage: str  # the DAG stage it serves: prepare, transcribe, align, diarize...
    target: str  # "package.module:Class"
    extra: str | None = None  # the pip extra that installs its requirements
    requirements: tuple[str, ...] = ()  # modules it needs beyond Dalston's own
    # Served only when selected by settings (weights behind a token and network).
    opt_in: bool = False
    # For a stage with several engines: the setting value that selects this one
    # (``DALSTON_DIARIZATION_BACKEND``).
    backend: str | None = None
    # The stage whose output this engine's stage reads and may start on early: a
    # task of it is dispatched while that stage still runs (once it has published
    # output so far), works ahead on each version published
    # (``BatchEngine.work_ahead``, outside the engine's task slots while it
    # waits) and finishes with ``process`` once the whole output is stored.
    follows: str | None = None
