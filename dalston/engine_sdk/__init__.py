"""What an engine implements (``BatchEngine``) and what runs it (``EngineRunner``).

The names are imported on first use (PEP 562): reading the engine declarations
(``dalston.engine_sdk.spec``, ``.registry``) must not import NumPy, PyAV and the
runner, so the CLI's client commands and ``dalston healthcheck`` start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dalston.engine_sdk.base import (
        BatchEngine,
        EngineCapabilities,
        EngineConfig,
        TaskInput,
        TaskOutput,
    )
    from dalston.engine_sdk.errors import (
        EngineError,
        PermanentEngineError,
        TaskCancelled,
    )
    from dalston.engine_sdk.runner import EngineRunner

_MODULES = {
    "BatchEngine": "base",
    "EngineCapabilities": "base",
    "EngineConfig": "base",
    "TaskInput": "base",
    "TaskOutput": "base",
    "EngineError": "errors",
    "PermanentEngineError": "errors",
    "TaskCancelled": "errors",
    "EngineRunner": "runner",
}

__all__ = [
    "BatchEngine",
    "EngineCapabilities",
    "EngineConfig",
    "EngineError",
    "EngineRunner",
    "PermanentEngineError",
    "TaskCancelled",
    "TaskInput",
    "TaskOutput",
]


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
