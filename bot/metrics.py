"""Prometheus metrics, kept in the app's own registry (no process-wide globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bot.messages import Inbound


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

    def count(self, message: Inbound, intent: str, decision: str) -> None:
        self.messages.labels(type(message).__name__.lower(), intent, decision).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
