"""Prometheus metrics, one registry per app (tests run several apps in one process).

Request metrics are recorded by `TelemetryMiddleware` as each request ends. Everything
else is read from the live objects at scrape time by `_StateCollector`: queue depth and
rejections per model, load state and memory, loads and unloads, batch sizes of the CPU
batcher, waiting times per latency class (for a place in a model's queue, for cores of the
CPU budget), drain state. The names below are the whole interface; README lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from gateway.draining import Drain
from gateway.serving.registry import ModelRegistry, WorkQueue
from models.compute import WAIT_BUCKETS, CpuBudget, Waits

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32)
LOAD_STATES = ("unloaded", "loading", "loaded", "failed")


class Metrics:
    """The app's metrics registry and the request instruments."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self,
        models: ModelRegistry,
        drain: Drain,
        not_ready: Callable[[], list[str]],
        rate_limiter: Any = None,
        budget: CpuBudget | None = None,
        queues: tuple[WorkQueue, ...] = (),
    ):
        """`queues`: queues of workers that are not models of the registry (the speaker encoder's)."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_requests",
            "Requests answered, by route template, served model (worker) and status (499: client went away).",
            ["endpoint", "model", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Time from the request's first byte to its response's last byte.",
            ["endpoint", "model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.audio = Counter(
            "gateway_audio_seconds",
            "Seconds of audio processed: decoded input for listening endpoints, produced output for speech.",
            ["endpoint", "model"],
            registry=self.registry,
        )
        self.in_flight = Gauge("gateway_requests_in_flight", "Requests being handled now.", registry=self.registry)
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes and friends
        self.registry.register(_StateCollector(models, drain, not_ready, rate_limiter, budget, queues))

    def observe(self, endpoint: str, model: str, status: int, seconds: float, audio_seconds: float) -> None:
        self.requests.labels(endpoint, model, str(status)).inc()
        self.latency.labels(endpoint, model).observe(seconds)
        if audio_seconds:
            self.audio.labels(endpoint, model).inc(audio_seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Reads queues, models and the drain state when scraped."""

    def __init__(
        self,
        models: ModelRegistry,
        drain: Drain,
        not_ready: Callable[[], list[str]],
        rate_limiter: Any,
        budget: CpuBudget | None,
        queues: tuple[WorkQueue, ...],
    ):
        self.models = models
        self.drain = drain
        self.not_ready = not_ready
        self.rate_limiter = rate_limiter
        self.budget = budget
        self.queues = queues

    def collect(self) -> Iterator[Any]:
        entries = list(self.models.entries.values())
        gauges = {
            "running": GaugeMetricFamily("gateway_queue_running", "Requests a model is working on.", labels=["model"]),
            "waiting": GaugeMetricFamily("gateway_queue_waiting", "Requests waiting for a model.", labels=["model"]),
            "capacity": GaugeMetricFamily(
                "gateway_queue_capacity",
                "Requests a model admits (working plus waiting); more get 429.",
                labels=["model"],
            ),
            "loaded": GaugeMetricFamily("gateway_model_loaded", "1 while the model is loaded.", labels=["model"]),
            "state": GaugeMetricFamily(
                "gateway_model_state", "1 for the model's current load state.", labels=["model", "state"]
            ),
            "memory": GaugeMetricFamily(
                "gateway_model_memory_bytes", "Memory a loaded model takes (measured or estimated).", labels=["model"]
            ),
        }
        rejected = CounterMetricFamily(
            "gateway_queue_rejected",
            "Requests refused at once with 429 because the model's queue was full.",
            labels=["model"],
        )
        cancelled = CounterMetricFamily(
            "gateway_work_cancelled",
            "Work stopped early: the client went away or the request ran out of time.",
            labels=["model"],
        )
        loads = CounterMetricFamily("gateway_model_loads", "Successful model loads.", labels=["model"])
        unloads = CounterMetricFamily("gateway_model_unloads", "Model unloads by reason.", labels=["model", "reason"])
        batches = HistogramMetricFamily(
            "gateway_batch_size",
            "Requests' windows decoded together in one batched model call (CPU).",
            labels=["model"],
        )
        for entry in entries:
            name, queue = entry.name, entry.queue
            gauges["running"].add_metric([name], queue.running)
            gauges["waiting"].add_metric([name], queue.waiting)
            gauges["capacity"].add_metric([name], queue.capacity)
            gauges["loaded"].add_metric([name], 1.0 if entry.loaded else 0.0)
            state = entry.load_state
            for candidate in LOAD_STATES:
                gauges["state"].add_metric([name, candidate], 1.0 if candidate == state else 0.0)
            gauges["memory"].add_metric([name], entry.footprint() if entry.loaded else 0)
            rejected.add_metric([name], queue.rejected)
            cancelled.add_metric([name], max(queue.cancelled, getattr(entry.worker, "cancelled", 0)))
            loads.add_metric([name], entry.loads)
            for reason, count in entry.unloads.items():
                unloads.add_metric([name, reason], count)
            # a Whisper worker batches on the CPU or on its GPU (whichever it was loaded on)
            batchers = [getattr(entry.worker, kind, None) for kind in ("cpu_batcher", "device_batcher")]
            used = [b for b in batchers if b is not None and b.batches]
            if used:
                sizes: dict[int, int] = {}
                for batcher in used:
                    for size, count in batcher.sizes.items():
                        sizes[size] = sizes.get(size, 0) + count
                batches.add_metric([name], _buckets(sizes), sum_value=float(sum(b.calls for b in used)))
        yield from gauges.values()
        yield from (rejected, cancelled, loads, unloads, batches)
        yield from self._waits(entries)
        yield GaugeMetricFamily(
            "gateway_model_memory_budget_bytes",
            "The models' memory budget (0: none).",
            value=self.models.memory_budget_bytes,
        )
        yield GaugeMetricFamily(
            "gateway_model_memory_used_bytes", "Memory the loaded models take.", value=self.models.used_bytes()
        )
        yield GaugeMetricFamily(
            "gateway_draining", "1 while this replica drains before stopping.", value=float(self.drain.draining)
        )
        yield CounterMetricFamily(
            "gateway_rate_limit_fallbacks",
            "Rate-limit decisions taken with this replica's own buckets because the shared database failed.",
            value=getattr(self.rate_limiter, "fallbacks", 0),
        )
        ready = not self.not_ready()
        yield GaugeMetricFamily("gateway_ready", "1 while /health/ready answers 200.", value=float(ready))


    def _waits(self, entries: list[Any]) -> Iterator[Any]:
        queued = HistogramMetricFamily(
            "gateway_queue_wait_seconds",
            "Time an admitted request waited for a model to start its work, by latency class.",
            labels=["model", "latency"],
        )
        for queue in [entry.queue for entry in entries] + list(self.queues):
            for latency, waits in queue.waits.items():
                queued.add_metric([queue.name, latency], _wait_buckets(waits), sum_value=waits.sum_s)
        yield queued
        if self.budget is not None:
            cores = HistogramMetricFamily(
                "gateway_compute_wait_seconds",
                "Time a compute step (one model call) waited for its cores of the CPU budget, by latency class.",
                labels=["latency"],
            )
            for latency, waits in self.budget.waits.items():
                cores.add_metric([latency], _wait_buckets(waits), sum_value=waits.sum_s)
            yield cores


def _wait_buckets(waits: Waits) -> list[tuple[str, float]]:
    """Cumulative Prometheus buckets of a waiting-time record."""
    out = [(str(bound), float(n)) for bound, n in zip(WAIT_BUCKETS, waits.counts, strict=True)]
    out.append(("+Inf", float(waits.count)))
    return out


def _buckets(sizes: dict[int, int]) -> list[tuple[str, float]]:
    """Cumulative Prometheus buckets from counts per batch size."""
    out = []
    for bound in BATCH_BUCKETS:
        out.append((str(bound), float(sum(n for size, n in sizes.items() if size <= bound))))
    out.append(("+Inf", float(sum(sizes.values()))))
    return out
