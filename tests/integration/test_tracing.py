"""OpenTelemetry traces: a real server (uvicorn on a socket, in this process so the SDK's
in-memory exporter sees every span) with its in-process worker. The attempt's span joins the
trace of the request that created the task, on every backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tasktrack.api.app import create_app
from tasktrack.api.context import ApiContext
from tasktrack.config import Settings
from tasktrack.loader import load_registry
from tasktrack.observability import tracing
from tasktrack.service.identity import IdentityService
from tasktrack.storage.factory import open_stores
from tasktrack.worker.embedded import embedded_worker
from tasktrack.worker.options import WorkerOptions
from tests.helpers import eventually

pytestmark = pytest.mark.timeout(120)
#: The caller's own trace: the request continues it, the attempt joins it.
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    tracing.disable()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    tracing.disable()


async def _api_key(url: str) -> str:
    stores = await open_stores(url)
    try:
        identity = IdentityService(stores.identity)
        _, user = await identity.ensure_default()
        return (await identity.create_api_key(user.id))[1]
    finally:
        await stores.close()


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """The app with its in-process worker, served by uvicorn on a free port: its base URL."""
    registry = load_registry(settings.app_modules)
    options = WorkerOptions.from_settings(settings)

    def worker(ctx: ApiContext) -> Any:
        return embedded_worker(ctx.stores.tasks, ctx.tasks, registry, options)

    app = create_app(settings, registry, extensions=[worker])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    running = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _started(server), bool, timeout=30, what="uvicorn start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await running


async def _started(server: uvicorn.Server) -> bool:
    return server.started


def _settings(url: str, otel: int) -> Settings:
    return Settings(
        database_url=url, otel=otel, app_modules=("tests.apps.handlers",), poll_interval=0.1
    )


async def _run_one_task(base: str, key: str, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}) as client:
        created = await client.post(
            "/v2.0/tasks", json={"name": "test.noop", "data": {}}, headers=headers
        )
        assert created.status_code == 201, created.text
        task_id = str(created.json()["_id"])

        async def status() -> str:
            return str((await client.get(f"/v2.0/tasks/{task_id}")).json()["status"])

        await eventually(status, lambda s: s == "done", timeout=30, what="the task done")
    return task_id


def _named(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name == name]


async def test_an_attempt_joins_the_creating_requests_trace(
    backend_url: str, spans: InMemorySpanExporter
) -> None:
    if backend_url == "memory://":
        pytest.skip("the in-process worker needs a store the API shares: covered by SQL")
    key = await _api_key(backend_url)
    caller = {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"}
    async with serving(_settings(backend_url, 1)) as base:
        task_id = await _run_one_task(base, key, caller)
        await eventually(
            lambda: _async(_named(spans, "task test.noop")), bool, what="the attempt span"
        )
    (request,) = _named(spans, "POST /v2.0/tasks")
    (attempt,) = _named(spans, "task test.noop")
    assert request.kind is trace.SpanKind.SERVER
    assert format(request.context.trace_id, "032x") == TRACE_ID
    assert request.parent is not None and format(request.parent.span_id, "016x") == CALLER_SPAN
    assert request.attributes is not None and request.attributes["http.response.status_code"] == 201
    assert attempt.kind is trace.SpanKind.CONSUMER
    assert attempt.context.trace_id == request.context.trace_id
    assert attempt.parent is not None and attempt.parent.span_id == request.context.span_id
    assert attempt.attributes is not None
    assert attempt.attributes["tasktrack.task.id"] == task_id
    assert attempt.attributes["tasktrack.attempt.outcome"] == "done"


async def _async(value: Any) -> Any:
    return value


async def test_tracing_is_off_by_default(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    url = f"sqlite:///{tmp_path / 'off.db'}"
    key = await _api_key(url)
    async with serving(_settings(url, 0)) as base:
        task_id = await _run_one_task(base, key, {})
    assert spans.get_finished_spans() == ()
    stores = await open_stores(url)
    try:
        assert await stores.tasks.trace_context(task_id) is None  # nothing stored either
    finally:
        await stores.close()


async def test_a_rerun_joins_the_rerun_requests_trace(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    url = f"sqlite:///{tmp_path / 'rerun.db'}"
    key = await _api_key(url)
    rerun_trace = "0af7651916cd43dd8448eb211c80319c"
    async with serving(_settings(url, 1)) as base:
        first = await _run_one_task(base, key, {})
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}) as client:
            again = await client.post(
                f"/v2.0/tasks/{first}/rerun",
                headers={"traceparent": f"00-{rerun_trace}-{CALLER_SPAN}-01"},
            )
        assert again.status_code == 201, again.text

        async def attempts() -> list[ReadableSpan]:
            return _named(spans, "task test.noop")

        found = await eventually(attempts, lambda s: len(s) == 2, what="both attempt spans")
    rerun = next(s for s in found if s.attributes and s.attributes["tasktrack.task.id"] != first)
    assert format(rerun.context.trace_id, "032x") == rerun_trace
