"""Metrics, traces and log format of one process, set up in one place.

* Metrics: a per-process prometheus registry (``REGISTRY``); the gateway serves it
  on ``/metrics``, a worker or orchestrator process on ``DALSTON_METRICS_PORT``.
* Traces: OpenTelemetry, configured by the standard ``OTEL_*`` variables
  (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``,
  ``OTEL_TRACES_EXPORTER``...). Off (the API's no-op tracer) unless an OTLP
  endpoint is set. The trace context crosses the task queue as a W3C
  ``traceparent`` string in each task message.
* Logs: text, or JSON lines carrying trace, job and session ids.

A bottom-layer module: the engine SDK, orchestrator and gateway all record here.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import (
    TraceContextTextMapPropagator,
)
from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry()

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_DURATION = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

HTTP_SECONDS = Histogram(
    "dalston_http_request_seconds",
    "HTTP request latency by route template and status",
    ["method", "route", "status"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "dalston_job_seconds",
    "Batch job duration, submission to terminal state, by outcome",
    ["status"],
    buckets=_DURATION,
    registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "dalston_stage_seconds",
    "Engine task run time (this process's engines) by engine, stage and outcome",
    ["engine", "stage", "outcome"],
    buckets=_DURATION,
    registry=REGISTRY,
)
QUEUE_WAIT_SECONDS = Histogram(
    "dalston_queue_wait_seconds",
    "Time a task waited in its engine's queue before a worker took it",
    ["engine"],
    buckets=_DURATION,
    registry=REGISTRY,
)
AUDIO_SECONDS = Counter(
    "dalston_audio_seconds_processed_total",
    "Seconds of audio transcribed, by engine",
    ["engine"],
    registry=REGISTRY,
)
RTFX = Histogram(
    "dalston_rtfx",
    "Real-time factor (audio seconds / processing seconds) of transcribe tasks",
    ["engine"],
    buckets=(0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500),
    registry=REGISTRY,
)
REALTIME_FIRST_PARTIAL_SECONDS = Histogram(
    "dalston_realtime_first_partial_seconds",
    "Live sessions: time from the first audio to the first partial result",
    buckets=_LATENCY,
    registry=REGISTRY,
)
REALTIME_FINAL_SECONDS = Histogram(
    "dalston_realtime_final_latency_seconds",
    "Live sessions: time from the end of an utterance's audio to its final result",
    buckets=_LATENCY,
    registry=REGISTRY,
)
REALTIME_LAG_WARNINGS = Counter(
    "dalston_realtime_lag_warnings_total",
    "Lag warnings sent to live sessions falling behind",
    registry=REGISTRY,
)
REALTIME_DECODE_BATCH = Histogram(
    "dalston_realtime_decode_batch_size",
    "Live sessions: decodes served by one inference call (partials of several "
    "sessions batched together: DALSTON_REALTIME_BATCH_SIZE)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
    registry=REGISTRY,
)
REALTIME_SKIPPED_PARTIALS = Counter(
    "dalston_realtime_skipped_partials_total",
    "Live sessions: partials not decoded because they waited longer than they "
    "are worth (the decode threads were busy)",
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "dalston_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, failed, retried, dropped...)",
    ["outcome"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "dalston_errors_total",
    "Error responses and failed tasks by error code",
    ["code"],
    registry=REGISTRY,
)


def record_webhook_delivery(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def record_error(code: str) -> None:
    ERRORS.labels(code).inc()


def serve_metrics(port: int) -> None:
    """Serve ``REGISTRY`` on ``port`` (processes without an HTTP server); 0: not."""
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, registry=REGISTRY)


# --- tracing ---------------------------------------------------------------

_PROPAGATOR = TraceContextTextMapPropagator()
tracer = trace.get_tracer("dalston")
_tracing_on = False


def tracing_enabled() -> bool:
    return _tracing_on


def setup_tracing(default_service: str) -> bool:
    """Install an OTLP/HTTP exporter if the ``OTEL_*`` variables ask for one.
    Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or its traces variant) is set and
    ``OTEL_TRACES_EXPORTER`` is not ``none``. Idempotent."""
    global _tracing_on
    if _tracing_on:
        return True
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if not endpoint or exporter in ("", "none"):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME") or default_service
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _tracing_on = True
    return True


def shutdown_tracing() -> None:
    """Flush spans not yet exported (at process exit)."""
    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if _tracing_on and shutdown is not None:
        shutdown()


def current_traceparent() -> str:
    """The current span's W3C ``traceparent``, or "" when none is recording."""
    if not _tracing_on:
        return ""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", "")


@contextmanager
def span(
    name: str, traceparent: str = "", **attributes: Any
) -> Iterator[trace.Span | None]:
    """A span named ``name`` (child of ``traceparent`` when given, else of the
    current span); nothing at all while tracing is off."""
    job_id = attributes.get("job_id")
    token = JOB_ID.set(str(job_id)) if job_id else None
    try:
        if not _tracing_on:
            yield None
            return
        parent = (
            _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None
        )
        attrs = {f"dalston.{k}": v for k, v in attributes.items() if v is not None}
        with tracer.start_as_current_span(
            name, context=parent, attributes=attrs
        ) as current:
            yield current
    finally:
        if token is not None:
            JOB_ID.reset(token)


def attach_traceparent(traceparent: str) -> object | None:
    """Make ``traceparent`` the current context (until ``detach``)."""
    if not (_tracing_on and traceparent):
        return None
    return otel_context.attach(_PROPAGATOR.extract({"traceparent": traceparent}))


def detach(token: object | None) -> None:
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]


def start_span(name: str, traceparent: str = "", **attributes: Any) -> Any:
    """A span not made current (ended by the caller with ``end_span``): one per
    task of a batch; None while tracing is off."""
    if not _tracing_on:
        return None
    parent = _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None
    attrs = {f"dalston.{k}": v for k, v in attributes.items() if v is not None}
    return tracer.start_span(name, context=parent, attributes=attrs)


def traceparent_of(current: Any) -> str:
    if current is None:
        return ""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(current))
    return carrier.get("traceparent", "")


def end_span(current: Any, error: str | None = None) -> None:
    if current is None:
        return
    if error:
        current.set_status(trace.Status(trace.StatusCode.ERROR, error))
    current.end()


# --- logs --------------------------------------------------------------------

JOB_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dalston_job_id", default=None
)
SESSION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dalston_session_id", default=None
)
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the trace, span,
    job and session ids in effect (or passed as ``extra``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            entry["trace_id"] = format(ctx.trace_id, "032x")
            entry["span_id"] = format(ctx.span_id, "016x")
        traceparent = getattr(record, "traceparent", None)
        if traceparent and traceparent.count("-") == 3:  # a span not made current
            entry["trace_id"], entry["span_id"] = traceparent.split("-")[1:3]
        for key, var in (("job_id", JOB_ID), ("session_id", SESSION_ID)):
            value = getattr(record, key, None) or var.get()
            if value:
                entry[key] = str(value)
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Root handler in ``log_format`` ("text" or "json"); uvicorn's loggers
    propagate to it instead of keeping their own handlers."""
    root = logging.getLogger()
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
        root.setLevel(level)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers = []
            logger.propagate = True
    else:
        logging.basicConfig(level=level, format=_TEXT_FORMAT)
