"""Prometheus metrics of one gateway process (a registry per process, not global,
so several apps in one test process do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from dalston.runtime import Runtime

REGISTRY = CollectorRegistry()
JOBS_SUBMITTED = Counter(
    "dalston_jobs_submitted_total", "Batch jobs accepted", registry=REGISTRY
)
QUEUE_DEPTH = Gauge(
    "dalston_queue_depth", "Tasks waiting per engine", ["engine"], registry=REGISTRY
)
ENGINE_ACTIVE = Gauge(
    "dalston_engine_active_tasks",
    "Tasks running per engine",
    ["engine"],
    registry=REGISTRY,
)


def observe_runtime(runtime: Runtime) -> None:
    for runner in runtime.runners:
        QUEUE_DEPTH.labels(runner.engine_id).set(runtime.queue.depth(runner.engine_id))
        ENGINE_ACTIVE.labels(runner.engine_id).set(runner.active)
