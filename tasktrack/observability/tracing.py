"""OpenTelemetry traces (``pip install tasktrack[otel]``, ``TASKTRACK_OTEL=1``; off by default).

Two kinds of span:

* one per API request (:class:`TracingMiddleware`, outermost in the app): ``SERVER`` spans
  named ``METHOD /route/{template}``, continuing a caller's ``traceparent`` when it sends one;
* one per task attempt (:func:`attempt_span`, around a run in the worker): ``CONSUMER`` spans
  whose parent is the request that created the task. The request's W3C trace context is
  stored with the task (``task_traces``, written in the create's transaction), so an attempt
  on any worker, hours later, joins the creating request's trace.

Where they hook in: ``tasktrack.api.app.create_app`` calls :func:`configure` and adds the
middleware; the create and re-run routes pass :func:`current_context` to the service;
``tasktrack.worker.run.Run.execute`` runs inside :func:`attempt_span`; ``tasktrack worker``
calls :func:`configure` too. Nothing else imports OpenTelemetry, and nothing does when off.

Exporting is OpenTelemetry's business: if the process already set a tracer provider (the
``opentelemetry-instrument`` launcher, a test), spans go there; otherwise :func:`configure`
installs the SDK's with an OTLP/HTTP exporter configured by the standard ``OTEL_*`` variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``...).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The instrumentation scope name of every span.
TRACER = "tasktrack"
_state = {"enabled": False}
Outcome = Callable[[str, str], None]


def configure(enabled: bool) -> None:
    """Turn tracing on for this process (idempotent); ValueError without the extra."""
    if not enabled or _state["enabled"]:
        return
    try:
        from opentelemetry import trace
    except ImportError:
        raise ValueError(
            "TASKTRACK_OTEL=1 needs OpenTelemetry: pip install 'tasktrack[otel]'"
        ) from None
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        _install_sdk_provider()
    _state["enabled"] = True


def _install_sdk_provider() -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "tasktrack"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def enabled() -> bool:
    return _state["enabled"]


def disable() -> None:
    """Stop tracing in this process (tests turn it off again after their check)."""
    _state["enabled"] = False


def current_context() -> tuple[str, str] | None:
    """The active span's W3C context as ``(traceparent, tracestate)``; None when off or
    outside a span."""
    if not enabled():
        return None
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    parent = carrier.get("traceparent")
    return None if parent is None else (parent, carrier.get("tracestate", ""))


@contextlib.contextmanager
def attempt_span(
    task_id: str, name: str, attempt: int, stored: tuple[str, str] | None
) -> Iterator[Outcome]:
    """A span around one attempt, child of the creating request's span when ``stored``;
    yields a function to record the outcome (kind, reason). A no-op when tracing is off."""
    if not enabled():
        yield lambda kind, reason: None
        return
    from opentelemetry import propagate, trace

    carrier = {"traceparent": stored[0], "tracestate": stored[1]} if stored else {}
    attributes: dict[str, str | int] = {"tasktrack.task.id": task_id, "tasktrack.task.name": name,
                  "tasktrack.task.attempt": attempt}  # fmt: skip
    tracer = trace.get_tracer(TRACER)
    with tracer.start_as_current_span(
        f"task {name}", context=propagate.extract(carrier), kind=trace.SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:  # fmt: skip

        def outcome(kind: str, reason: str) -> None:
            span.set_attribute("tasktrack.attempt.outcome", kind)
            if kind not in ("done", "cancelled"):
                span.set_status(trace.Status(trace.StatusCode.ERROR, reason or kind))

        yield outcome


class TracingMiddleware:
    """A ``SERVER`` span per HTTP request (ASGI middleware; see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry import propagate, trace

        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        tracer = trace.get_tracer(TRACER)
        with tracer.start_as_current_span(
            method, context=propagate.extract(headers), kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:  # fmt: skip
            status: dict[str, int] = {}

            async def send_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                _finish(span, scope, method, status.get("code", 500))


def _finish(span: Any, scope: Scope, method: str, code: int) -> None:
    from opentelemetry import trace

    route = getattr(scope.get("route"), "path", None)
    if route:  # a template, not the path: span names stay few
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", code)
    if code >= 500:
        span.set_status(trace.Status(trace.StatusCode.ERROR))
