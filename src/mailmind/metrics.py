"""Prometheus metrics. With several API worker processes, ``PROMETHEUS_MULTIPROC_DIR`` is set by
the CLI before this module is imported and ``/metrics`` aggregates every process's files."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PIPELINE_LATENCY = Histogram("pipeline_latency_seconds", "AI pipeline latency by stage", ["stage"])
PIPELINE_ERRORS = Counter("pipeline_errors_total", "AI pipeline errors", ["stage"])
JOBS = Gauge(
    "jobs", "Queued jobs by queue and status", ["queue", "status"], multiprocess_mode="mostrecent"
)
SYNC_MESSAGES = Counter("sync_messages_total", "Messages stored by sync", ["phase"])
WS_CONNECTIONS = Gauge("ws_connections", "Open WebSocket connections", multiprocess_mode="livesum")
AI_REMOTE_CALLS = Counter(
    "ai_remote_calls_total", "Calls to remote AI providers", ["provider", "feature", "outcome"]
)


def render_metrics() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
