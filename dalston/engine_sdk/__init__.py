"""What an engine implements (``BatchEngine``) and what runs it (``EngineRunner``)."""

from dalston.engine_sdk.base import (
    BatchEngine,
    EngineCapabilities,
    EngineConfig,
    TaskInput,
    TaskOutput,
)
from dalston.engine_sdk.errors import EngineError, PermanentEngineError, TaskCancelled
from dalston.engine_sdk.runner import EngineRunner

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
