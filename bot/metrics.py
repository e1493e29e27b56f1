"""Prometheus metrics, kept in the app's own registry (no process-wide globals).

With `serve --workers N` every worker counts into prometheus-client's multiprocess mode, in a
directory the supervisor makes for that run (`MULTIPROCESS_DIR`), and any worker's /metrics
reads them all: a scrape through the shared port gets the sum, whichever worker answers. Chosen
over a shared registry in Redis or the database because an increment stays a write to memory
(no round trip per message, nothing lost while Redis is down), and a worker that dies leaves its
file behind, so a total never goes backwards when the supervisor starts another.

What the store holds — notices waiting, the oldest one's age, dead notices — is read from it at
each scrape (`observe_outbox`): it is the same for every worker, so it is not summed.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bot.messages import Inbound

# prometheus-client's own variable: set (by the supervisor) before a worker starts, it makes every
# counter a shared file in that directory
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


class OutboxGauges(Collector):
    """The outbox as the store saw it at this scrape."""

    def __init__(self) -> None:
        self.waiting: int | None = None
        self.oldest_seconds = 0.0
        self.dead = 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.waiting is None:   # the store did not answer this scrape
            return
        yield GaugeMetricFamily("frontdesk_outbox_waiting", "Notices not yet sent (and not dead)", value=self.waiting)
        yield GaugeMetricFamily("frontdesk_outbox_oldest_waiting_seconds",
                                "Age of the oldest notice not yet sent, in seconds (0: none waiting)",
                                value=self.oldest_seconds)
        yield GaugeMetricFamily("frontdesk_outbox_dead", "Dead notices nobody has followed up yet", value=self.dead)


class HelperGauge(Collector):
    """Whether this worker's matcher helper process reads its questions now (bot/knowledge/offload.py)."""

    def __init__(self) -> None:
        self.ready: Callable[[], bool] | None = None   # None: no helper is configured

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.ready is not None:
            yield GaugeMetricFamily("frontdesk_matcher_helper_ready",
                                    "1 while the matcher's helper process reads this worker's questions",
                                    value=float(self.ready()))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter("frontdesk_messages", "Messages answered, by kind, intent and decision",
                                ["kind", "intent", "decision"], registry=self.registry)
        self.latency = Histogram("frontdesk_answer_seconds", "Time to answer one message",
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4, 10),
                                 registry=self.registry)
        self.rejected = Counter("frontdesk_callbacks_rejected", "Callbacks refused, by HTTP status",
                                ["status"], registry=self.registry)
        self.retries = Counter("frontdesk_retries", "WeChat retries answered from the first reply",
                               registry=self.registry)
        self.deferred = Counter("frontdesk_deferred", "Answers sent later through the customer-service API",
                                registry=self.registry)
        self.errors = Counter("frontdesk_errors", "Messages whose handling raised", registry=self.registry)
        self.pushes = Counter("frontdesk_pushes", "Outbox messages sent, by result", ["result"],
                              registry=self.registry)
        self.token_refreshes = Counter("frontdesk_token_refreshes", "Access tokens fetched from WeChat",
                                       registry=self.registry)
        self.questions = Counter("frontdesk_questions_read", "Questions read by the matcher, by where: in the "
                                 "matcher's helper process or in the worker itself", ["where"], registry=self.registry)
        self.outbox = OutboxGauges()
        self.registry.register(self.outbox)
        self.helper = HelperGauge()
        self.registry.register(self.helper)

    def count(self, message: Inbound, intent: str, decision: str) -> None:
        self.messages.labels(type(message).__name__.lower(), intent, decision).inc()

    def observe_outbox(self, backlog: tuple[int, str | None, int] | None, now: datetime) -> None:
        """(waiting, the oldest waiting one's creation time, dead) from the store; None when it
        did not answer (the gauges are left out rather than shown as zero)."""
        if backlog is None:
            self.outbox.waiting = None
            return
        waiting, oldest, dead = backlog
        self.outbox.waiting, self.outbox.dead = waiting, dead
        self.outbox.oldest_seconds = max((now - datetime.fromisoformat(oldest)).total_seconds(), 0.0) if oldest else 0.0

    def render(self) -> bytes:
        if os.environ.get(MULTIPROCESS_DIR):
            every_worker = CollectorRegistry()
            MultiProcessCollector(every_worker)
            every_worker.register(self.outbox)
            every_worker.register(self.helper)
            return generate_latest(every_worker)
        return generate_latest(self.registry)
