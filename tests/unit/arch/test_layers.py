"""The dependency rule, enforced: domain ← storage ← service ← {api, web, cli, worker}.

Walks every module's imports (with ast, so nothing is executed) and checks each layer only
reaches inward, and that no SQL driver is imported outside storage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "tasktrack"

#: layer → the tasktrack modules it may import (prefix match).
ALLOWED: dict[str, tuple[str, ...]] = {
    "tasktrack.domain": ("tasktrack.domain", "tasktrack.errors"),
    "tasktrack.storage": ("tasktrack.domain", "tasktrack.errors", "tasktrack.storage"),
    "tasktrack.service": (
        "tasktrack.domain",
        "tasktrack.errors",
        "tasktrack.service",
        "tasktrack.storage.base",
    ),
}
DRIVERS = ("sqlite3", "psycopg", "psycopg_pool")
WEB_FRAMEWORKS = ("starlette", "fastapi", "uvicorn", "httpx", "click")


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out.append((name, path))
    return out


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(("name", "path"), modules(), ids=[m[0] for m in modules()])
def test_layers_only_import_inward(name: str, path: Path) -> None:
    deps = imports_of(path)
    for layer, allowed in ALLOWED.items():
        if name == layer or name.startswith(layer + "."):
            ours = {d for d in deps if d.startswith("tasktrack")}
            bad = {d for d in ours if not d.startswith(allowed)}
            assert not bad, f"{name} ({layer}) must not import {sorted(bad)}"
            if layer != "tasktrack.storage":
                drivers = {d for d in deps if d.split(".")[0] in DRIVERS}
                assert not drivers, f"{name} imports SQL drivers {sorted(drivers)}"
            if layer in ("tasktrack.domain", "tasktrack.service"):
                web = {d for d in deps if d.split(".")[0] in WEB_FRAMEWORKS}
                assert not web, f"{name} imports adapter frameworks {sorted(web)}"


@pytest.mark.parametrize(("name", "path"), modules(), ids=[m[0] for m in modules()])
def test_sql_drivers_stay_in_storage(name: str, path: Path) -> None:
    if name.startswith("tasktrack.storage"):
        return
    drivers = {d for d in imports_of(path) if d.split(".")[0] in DRIVERS}
    assert not drivers, f"{name} imports {sorted(drivers)}: SQL belongs in tasktrack.storage"


def test_the_walk_sees_the_layers() -> None:
    names = [n for n, _ in modules()]
    assert "tasktrack.domain.task" in names and "tasktrack.storage.sqlite.store" in names
    assert "sqlite3" in imports_of(PACKAGE / "storage" / "sqlite" / "connection.py")
