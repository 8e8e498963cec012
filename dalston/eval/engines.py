"""Engines for evaluations and benchmarks: loaded once per process, one CPU thread
each, lazy models warmed so that timed work excludes the model load."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dalston.engine_sdk import BatchEngine


@cache
def loaded_engine(engine_id: str) -> BatchEngine:
    from dalston.engine_sdk import EngineConfig
    from dalston.engine_sdk.registry import engine_class

    engine = engine_class(engine_id)(EngineConfig(cpu_threads=1))
    engine.load()
    warm_up = getattr(engine, "warm_up", None)  # lazy models: load before timing
    if callable(warm_up):
        warm_up()
    return engine
