"""Prometheus metrics of one gateway process (a registry per process, not global,
so several apps in one test process do not collide)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dalston import telemetry
from dalston.runtime import Runtime
from dalston.telemetry import HTTP_SECONDS, REGISTRY, record_webhook_delivery

# The histograms and counters recorded outside the gateway (engine runner,
# orchestrator, realtime sessions, webhooks) live in ``dalston.telemetry``, on
# this same registry: record webhook outcomes with ``record_webhook_delivery``.
__all__ = ["REGISTRY", "HttpMetrics", "observe_runtime", "record_webhook_delivery"]
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


class HttpMetrics:
    """Latency of each HTTP request by route template, method and status, and a
    server span for it while tracing is on (pure ASGI; WebSockets pass through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope.get("method", "GET")
        with telemetry.span(f"{method} {scope.get('path', '')}") as current:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                HTTP_SECONDS.labels(method, route, str(status)).observe(
                    time.perf_counter() - started
                )
                if current is not None:
                    current.update_name(f"{method} {route}")
                    current.set_attribute("http.request.method", method)
                    current.set_attribute("http.route", route)
                    current.set_attribute("http.response.status_code", status)
