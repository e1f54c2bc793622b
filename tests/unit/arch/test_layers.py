"""The dependency rules, enforced: domain ← storage ← service ← adapters {api, web, cli, worker,
client}, with no cycles anywhere.

Walks every module's imports with ``ast`` (nothing is executed) into a graph of the package, and
checks it:

* each core layer only reaches inward, and no SQL driver is imported outside storage;
* no import cycle between modules, nor between the package's units (its subpackages and
  top-level modules: ``api`` and ``web`` once formed one without any module cycle);
* an adapter imports another adapter only where :data:`ADAPTER_ALLOWED` says why;
* the domain imports no I/O module, except :data:`DOMAIN_IO_ALLOWED` (id generation);
* top-level modules (``tasktrack/*.py``) import no adapter, except :data:`TOP_LEVEL_ALLOWED`.

Every import counts: module-level, function-level (a deferred import is still a dependency,
and the usual way a cycle hides) and ``TYPE_CHECKING`` ones. The last tests build small fake
packages that break each rule and show the rule reports them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PKG = "tasktrack"

#: layer → the tasktrack modules it may import (prefix match).
ALLOWED: dict[str, tuple[str, ...]] = {
    "tasktrack.domain": ("tasktrack.domain", "tasktrack.errors"),
    "tasktrack.storage": ("tasktrack.domain", "tasktrack.errors", "tasktrack.storage"),
    "tasktrack.service": (
        "tasktrack.domain",
        "tasktrack.errors",
        "tasktrack.service",
        # The storage interfaces (protocols), one module per idea; never an implementation.
        "tasktrack.storage.base",
        "tasktrack.storage.dedup_base",
        "tasktrack.storage.webhook_base",
        "tasktrack.storage.workers_base",
    ),
}
DRIVERS = ("sqlite3", "psycopg", "psycopg_pool")
WEB_FRAMEWORKS = ("starlette", "fastapi", "uvicorn", "httpx", "click")

#: The outer ring: each drives the core from one side and should not know the others.
ADAPTERS = ("api", "web", "cli", "worker", "client")

#: adapter → the modules of other adapters it may import (prefix match), each with its reason.
ADAPTER_ALLOWED: dict[str, tuple[str, ...]] = {
    "tasktrack.api": (
        # The API app serves the dashboard's page and assets, so they share its origin (the
        # page's Content-Security-Policy allows 'self' only). web imports nothing of api.
        "tasktrack.web.routes",
        # ... and the API reference page at /docs, under the same policy.
        "tasktrack.web.docs",
    ),
    "tasktrack.cli": (
        # `tasktrack serve` builds the API app and hands its context to the in-process worker.
        "tasktrack.api.app",
        "tasktrack.api.context",
        # `tasktrack worker --health-port` serves the API's health routes with its own checks.
        "tasktrack.api.health",
        # `tasktrack worker` runs the worker, and `tasktrack serve` runs one in-process.
        "tasktrack.worker",
        # `tasktrack tasks ...` talks to a running server over HTTP through the client.
        "tasktrack.client",
    ),
}

#: Standard-library and driver modules that reach outside the process (or its clock, threads
#: and scheduler): the domain holds values and rules, so it imports none of them.
IO_MODULES = frozenset(
    {
        "asyncio", "concurrent", "ftplib", "http", "io", "logging", "multiprocessing", "os",
        "pathlib", "psycopg", "psycopg_pool", "select", "selectors", "shutil", "signal",
        "smtplib", "socket", "sqlite3", "ssl", "subprocess", "sys", "tempfile", "threading",
        "time", "urllib",
    }
)  # fmt: skip

#: domain module → the I/O modules it may import, each with its reason.
DOMAIN_IO_ALLOWED: dict[str, frozenset[str]] = {
    # Ids embed their creation second and a per-process random part, like Mongo ObjectIds:
    # os.urandom/os.getpid draw (and, after a fork, redraw) that part, a threading.Lock guards
    # the counter, and time.time() is the default creation time. Nothing else in the domain
    # reads the clock or the OS.
    "tasktrack.domain.ids": frozenset({"os", "threading", "time"}),
}

#: top-level module → the adapter modules it may import (prefix match), each with its reason.
TOP_LEVEL_ALLOWED: dict[str, tuple[str, ...]] = {
    # The package's public API re-exports what handlers receive: TaskContext, TaskCancelled.
    "tasktrack": ("tasktrack.worker.context",),
    # `python -m tasktrack` is the CLI.
    "tasktrack.__main__": ("tasktrack.cli.main",),
}

Graph = dict[str, set[str]]


# --- the import graph -----------------------------------------------------------------------


def modules(root: Path = ROOT, package: str = PKG) -> dict[str, Path]:
    """Every module of ``package`` (found under ``root``) by dotted name."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts).removesuffix(".__init__")] = path
    return out


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve_relative(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from .x import y`` in module ``name`` starts from."""
    base = name.split(".")
    if not _is_package(path):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, name: str = "", known: Iterable[str] = ()) -> set[str]:
    """What the module at ``path`` imports: dotted names, ``from m import sub`` as ``m.sub``
    when ``m.sub`` is one of the ``known`` modules."""
    known = set(known)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve_relative(name, path, node) if node.level else node.module or ""
            subs = {f"{module}.{a.name}" for a in node.names} & known
            found.update(subs)
            if len(subs) < len(node.names):  # some names are attributes of the module itself
                found.add(module)
    return found


def import_graph(root: Path = ROOT, package: str = PKG) -> Graph:
    """Module → everything it imports (the package's own modules and the rest)."""
    mods = modules(root, package)
    return {name: imports_of(path, name, mods) for name, path in mods.items()}


def internal(graph: Graph, package: str = PKG) -> Graph:
    """The graph restricted to the package's own modules (``import a.b`` is an edge to ``a.b``,
    or to the nearest enclosing module the package has)."""
    out: Graph = {}
    for name, deps in graph.items():
        out[name] = {t for d in deps if (t := _nearest(d, graph)) is not None and t != name}
    return out


def _nearest(dotted: str, graph: Graph) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in graph:
            return ".".join(parts[:end])
    return None


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def unit_of(name: str) -> str:
    """The package's unit holding module ``name``: ``tasktrack.api`` for ``tasktrack.api.app``,
    ``tasktrack.config`` for itself, ``tasktrack`` for the package's ``__init__``."""
    return ".".join(name.split(".")[:2])


# --- cycles ---------------------------------------------------------------------------------


def strongly_connected(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = _pop_until(stack, on_stack, node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _pop_until(stack: list[str], on_stack: set[str], node: str) -> list[str]:
    component = []
    while True:
        top = stack.pop()
        on_stack.discard(top)
        component.append(top)
        if top == node:
            return component


def unit_graph(graph: Graph, package: str = PKG) -> Graph:
    """The internal graph collapsed to the package's units (edges within a unit dropped)."""
    units: Graph = {}
    for name, deps in internal(graph, package).items():
        here = unit_of(name)
        units.setdefault(here, set()).update(unit_of(d) for d in deps)
        units[here].discard(here)
    return units


def cycle_violations(graph: Graph, package: str = PKG) -> list[str]:
    """Every import cycle between modules, then every cycle between units."""
    module_cycles = strongly_connected(internal(graph, package))
    unit_cycles = strongly_connected(unit_graph(graph, package))
    return [f"module cycle: {' <-> '.join(c)}" for c in module_cycles] + [
        f"unit cycle: {' <-> '.join(c)}" for c in unit_cycles
    ]


# --- the other rules ------------------------------------------------------------------------


def _adapter_of(name: str, package: str) -> str | None:
    for adapter in ADAPTERS:
        if _within(name, f"{package}.{adapter}"):
            return f"{package}.{adapter}"
    return None


def adapter_violations(graph: Graph, package: str = PKG) -> list[str]:
    """Adapter modules importing another adapter without an entry in ADAPTER_ALLOWED."""
    bad = []
    for name, deps in sorted(internal(graph, package).items()):
        source = _adapter_of(name, package)
        allowed = ADAPTER_ALLOWED.get(source or "", ())
        for dep in sorted(deps):
            target = _adapter_of(dep, package)
            if source and target and target != source and not _allowed(dep, allowed):
                bad.append(f"{name} imports {dep}")
    return bad


def _allowed(dep: str, prefixes: Iterable[str]) -> bool:
    return any(_within(dep, prefix) for prefix in prefixes)


def domain_io_violations(graph: Graph, package: str = PKG) -> list[str]:
    """Domain modules importing an I/O module not in DOMAIN_IO_ALLOWED."""
    bad = []
    for name, deps in sorted(graph.items()):
        if _within(name, f"{package}.domain"):
            allowed = DOMAIN_IO_ALLOWED.get(name, frozenset())
            io = sorted({d.split(".")[0] for d in deps} & IO_MODULES - allowed)
            bad += [f"{name} imports {module}" for module in io]
    return bad


def top_level_violations(graph: Graph, package: str = PKG) -> list[str]:
    """Top-level modules (and the package's ``__init__``) importing adapters."""
    bad = []
    for name, deps in sorted(internal(graph, package).items()):
        if unit_of(name) != name or _adapter_of(name, package):
            continue  # inside a subpackage (or an adapter's own __init__)
        allowed = TOP_LEVEL_ALLOWED.get(name, ())
        bad += [
            f"{name} imports {dep}"
            for dep in sorted(deps)
            if _adapter_of(dep, package) and not _allowed(dep, allowed)
        ]
    return bad


# --- the rules, on tasktrack ----------------------------------------------------------------

GRAPH = import_graph()
MODULES = sorted(GRAPH)


@pytest.mark.parametrize("name", MODULES)
def test_layers_only_import_inward(name: str) -> None:
    deps = GRAPH[name]
    for layer, allowed in ALLOWED.items():
        if _within(name, layer):
            ours = {d for d in deps if d.split(".")[0] == PKG}
            bad = {d for d in ours if not d.startswith(allowed)}
            assert not bad, f"{name} ({layer}) must not import {sorted(bad)}"
            if layer in ("tasktrack.domain", "tasktrack.service"):
                web = {d for d in deps if d.split(".")[0] in WEB_FRAMEWORKS}
                assert not web, f"{name} imports adapter frameworks {sorted(web)}"


@pytest.mark.parametrize("name", MODULES)
def test_sql_drivers_stay_in_storage(name: str) -> None:
    if _within(name, "tasktrack.storage"):
        return
    drivers = {d for d in GRAPH[name] if d.split(".")[0] in DRIVERS}
    assert not drivers, f"{name} imports {sorted(drivers)}: SQL belongs in tasktrack.storage"


def test_there_is_no_import_cycle() -> None:
    assert cycle_violations(GRAPH) == []


def test_adapters_do_not_import_each_other() -> None:
    assert adapter_violations(GRAPH) == []


def test_the_domain_does_no_io_beyond_id_generation() -> None:
    assert domain_io_violations(GRAPH) == []


def test_top_level_modules_do_not_import_adapters() -> None:
    assert top_level_violations(GRAPH) == []


def test_every_allowance_is_still_used() -> None:
    # An allowance nothing needs any more is a hole waiting for the next bad import.
    edges = internal(GRAPH)
    for adapter, prefixes in ADAPTER_ALLOWED.items():
        deps = {d for name in edges if _within(name, adapter) for d in edges[name]}
        for prefix in prefixes:
            assert any(_within(d, prefix) for d in deps), f"{adapter}: {prefix} is not used"
    for module, prefixes in TOP_LEVEL_ALLOWED.items():
        for prefix in prefixes:
            assert any(_within(d, prefix) for d in edges[module]), f"{module}: {prefix} unused"
    for name, io in DOMAIN_IO_ALLOWED.items():
        assert io <= {d.split(".")[0] for d in GRAPH[name]}, name


def test_the_design_doc_states_the_domain_io_allowance() -> None:
    # docs/design.md once said the domain does no I/O at all while ids.py used os, threading
    # and time: the doc must name every allowance this test grants.
    text = (ROOT / "docs" / "design.md").read_text()
    layers = text[text.index("## Layers") :].split("\n## ")[0]
    for name, io in DOMAIN_IO_ALLOWED.items():
        assert name.removeprefix("tasktrack.").replace(".", "/") + ".py" in layers
        for module in io:
            assert f"`{module}." in layers, f"the Layers section does not mention {module}"


def test_the_walk_sees_the_layers() -> None:
    assert "tasktrack.domain.task" in GRAPH and "tasktrack.storage.sqlite.store" in GRAPH
    assert "sqlite3" in GRAPH["tasktrack.storage.sqlite.connection"]
    assert "tasktrack.api.routes.tasks" in internal(GRAPH)["tasktrack.api.app"]
    assert "tasktrack.worker.context" in internal(GRAPH)["tasktrack"]


# --- the rules, on fake packages that break them --------------------------------------------

#: A small package in tasktrack's shape that keeps every rule (and uses every allowance kind).
CLEAN = {
    "__init__.py": "from tasktrack.worker.context import TaskContext\n",
    "__main__.py": "from tasktrack.cli.main import main\n",
    "errors.py": "",
    "config.py": "import os\n",
    "domain/__init__.py": "",
    "domain/ids.py": "import os\nimport threading\nimport time\n",
    "domain/task.py": "from datetime import datetime\nfrom tasktrack.domain import ids\n",
    "service/__init__.py": "",
    "service/tasks.py": "from tasktrack.domain.task import datetime\n",
    "api/__init__.py": "",
    "api/app.py": "from . import routes\n",
    "api/routes.py": "from .context import ApiContext\nfrom tasktrack.service import tasks\n",
    "api/context.py": "import time\nfrom ..config import os\n",
    "web/__init__.py": "",
    "web/pages.py": "from starlette.routing import Route\n",
    "worker/__init__.py": "",
    "worker/context.py": "import threading\nfrom tasktrack.service.tasks import datetime\n",
    "cli/__init__.py": "",
    "cli/main.py": "from tasktrack.api.app import routes\nfrom tasktrack.worker import context\n",
}


def _fake(tmp_path: Path, changes: dict[str, str] | None = None) -> Graph:
    """The graph of a fake ``tasktrack`` under ``tmp_path``: CLEAN, with ``changes`` (relative
    path → source) written over it."""
    for rel, source in (CLEAN | (changes or {})).items():
        path = tmp_path / PKG / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return import_graph(tmp_path)


def _all_violations(graph: Graph) -> Iterator[str]:
    yield from cycle_violations(graph)
    yield from adapter_violations(graph)
    yield from domain_io_violations(graph)
    yield from top_level_violations(graph)


def test_the_clean_fake_breaks_no_rule(tmp_path: Path) -> None:
    graph = _fake(tmp_path)
    assert list(_all_violations(graph)) == []
    edges = internal(graph)
    assert edges["tasktrack.api.app"] == {"tasktrack.api.routes"}  # from . import routes
    assert edges["tasktrack.api.context"] == {"tasktrack.config"}  # from ..config import os


def test_a_module_cycle_is_reported(tmp_path: Path) -> None:
    graph = _fake(
        tmp_path,
        {
            "service/tasks.py": "from tasktrack.service import limits\n",
            "service/limits.py": "def f():\n    from tasktrack.service.tasks import g\n",
        },
    )
    assert cycle_violations(graph) == [
        "module cycle: tasktrack.service.limits <-> tasktrack.service.tasks"
    ]


def test_a_cycle_of_units_without_a_module_cycle_is_reported(tmp_path: Path) -> None:
    # What api and web did: api.app → web.routes → web.events → api.context.
    graph = _fake(
        tmp_path,
        {
            "api/app.py": "from tasktrack.web.pages import page\n",
            "web/pages.py": "from tasktrack.api.context import ApiContext\n",
        },
    )
    assert strongly_connected(internal(graph)) == []
    assert cycle_violations(graph) == ["unit cycle: tasktrack.api <-> tasktrack.web"]


def test_a_cycle_through_type_checking_is_reported(tmp_path: Path) -> None:
    config = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from tasktrack.service.tasks import TaskService\n"
    )
    graph = _fake(tmp_path, {"config.py": config, "service/tasks.py": "import tasktrack.config\n"})
    assert cycle_violations(graph) == [
        "module cycle: tasktrack.config <-> tasktrack.service.tasks",
        "unit cycle: tasktrack.config <-> tasktrack.service",
    ]


def test_an_adapter_importing_another_is_reported(tmp_path: Path) -> None:
    graph = _fake(tmp_path, {"worker/context.py": "from tasktrack.web import pages\n"})
    assert adapter_violations(graph) == ["tasktrack.worker.context imports tasktrack.web.pages"]


def test_an_allowance_covers_only_what_it_names(tmp_path: Path) -> None:
    graph = _fake(tmp_path, {"cli/main.py": "from tasktrack.api.routes import x\n"})
    assert adapter_violations(graph) == ["tasktrack.cli.main imports tasktrack.api.routes"]


@pytest.mark.parametrize(
    ("source", "reported"),
    [
        ("import socket\n", "socket"),
        ("from os import path\n", "os"),
        ("import sqlite3\n", "sqlite3"),
        ("def now():\n    import time\n    return time.time()\n", "time"),
        ("from http.client import HTTPConnection\n", "http"),
        ("import asyncio\nimport subprocess\n", "asyncio"),
    ],
)
def test_a_domain_io_import_is_reported(tmp_path: Path, source: str, reported: str) -> None:
    graph = _fake(tmp_path, {"domain/task.py": source})
    assert domain_io_violations(graph)[0] == f"tasktrack.domain.task imports {reported}"


def test_the_id_allowance_is_for_ids_alone(tmp_path: Path) -> None:
    graph = _fake(tmp_path, {"domain/ids.py": "import os\nimport socket\n"})
    assert domain_io_violations(graph) == ["tasktrack.domain.ids imports socket"]


@pytest.mark.parametrize(
    ("rel", "source", "reported"),
    [
        ("metrics.py", "from tasktrack.worker.context import C\n", "tasktrack.metrics imports"),
        ("config.py", "def f():\n    import tasktrack.api.app\n", "tasktrack.config imports"),
        ("__init__.py", "from tasktrack.cli.main import main\n", "tasktrack imports"),
    ],
)
def test_a_top_level_module_importing_an_adapter_is_reported(
    tmp_path: Path, rel: str, source: str, reported: str
) -> None:
    graph = _fake(tmp_path, {rel: source})
    [violation] = top_level_violations(graph)
    assert violation.startswith(reported)
