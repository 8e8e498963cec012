"""Errors an engine raises from ``process``.

EngineError            transient: the orchestrator retries the task
├── PermanentEngineError   the input itself is bad: the job fails at once
└── TaskCancelled          the job was cancelled while the task ran
"""

from __future__ import annotations


class EngineError(Exception):
    retriable = True


class PermanentEngineError(EngineError):
    retriable = False


class TaskCancelled(EngineError):
    retriable = False
