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

# Live sessions this process decodes itself (a realtime worker, or an embedded
# server), not those it relays: summed over processes without double counting.
# Kubernetes scales realtime workers on their ratio (deploy/k8s, KEDA).
REALTIME_ACTIVE = Gauge(
    "dalston_realtime_sessions_active",
    "Live sessions decoded by this process",
    registry=REGISTRY,
)
REALTIME_CAPACITY = Gauge(
    "dalston_realtime_session_capacity",
    "Live session slots of this process",
    registry=REGISTRY,
)
MODEL_LOAD_SECONDS = Gauge(
    "dalston_model_load_seconds",
    "Seconds the last load of a model took in this process's engines (a reload "
    "after an idle unload included)",
    ["engine", "model"],
    registry=REGISTRY,
)
MODEL_LOADED = Gauge(
    "dalston_model_loaded",
    "1 while an engine of this process holds the model in memory, else 0",
    ["engine", "model"],
    registry=REGISTRY,
)


def observe_runtime(runtime: Runtime) -> None:
    for runner in runtime.runners:
        QUEUE_DEPTH.labels(runner.engine_id).set(runtime.queue.depth(runner.engine_id))
        ENGINE_ACTIVE.labels(runner.engine_id).set(runner.active)
        loaded = set(runner.engine.loaded_models())
        for model_id, seconds in runner.engine.model_load_seconds().items():
            MODEL_LOAD_SECONDS.labels(runner.engine_id, model_id).set(seconds)
            MODEL_LOADED.labels(runner.engine_id, model_id).set(model_id in loaded)
    local = [w for w in runtime.router.workers.values() if w.url is None]
    REALTIME_ACTIVE.set(sum(w.active for w in local))
    REALTIME_CAPACITY.set(sum(w.capacity for w in local))
