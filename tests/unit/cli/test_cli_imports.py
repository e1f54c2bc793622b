"""The CLI's modules form no import cycle, and the console script's module stays cheap to
import (a spawned worker child imports it again)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tasktrack.cli.main import COMMANDS, cli

CLI = Path(__file__).resolve().parents[3] / "tasktrack" / "cli"


def cli_imports() -> dict[str, set[str]]:
    """tasktrack.cli module -> the tasktrack.cli modules it imports (anywhere in it)."""
    graph: dict[str, set[str]] = {}
    for path in CLI.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[f"tasktrack.cli.{path.stem}"] = found
    return {name: deps & graph.keys() - {name} for name, deps in graph.items()}


def test_no_cli_module_imports_another_that_imports_it_back() -> None:
    graph = cli_imports()
    assert "tasktrack.cli.common" in graph["tasktrack.cli.serve"]  # the walk sees imports

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(
            dep == target or (dep not in seen and reaches(dep, target, seen | {dep}))
            for dep in graph[start]
        )

    cycles = sorted(name for name in graph if reaches(name, name, set()))
    assert cycles == []


def test_every_command_module_leaves_main_alone() -> None:
    graph = cli_imports()
    assert {name for name, deps in graph.items() if "tasktrack.cli.main" in deps} == set()


def imported_along(module: str, candidates: set[str]) -> list[str]:
    """Which of ``candidates`` a fresh interpreter has imported after importing ``module``."""
    code = f"import sys, {module}; print(sorted({candidates!r} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(ast.literal_eval(out.stdout.strip()))


def test_importing_the_entry_point_does_not_import_the_commands() -> None:
    assert imported_along("tasktrack.cli.main", {"uvicorn", "rich", "tasktrack.cli.serve"}) == []


def test_the_client_commands_read_no_server_settings() -> None:
    assert imported_along("tasktrack.cli.tasks", {"tasktrack.config", "tasktrack.loader"}) == []
    assert imported_along("tasktrack.cli.db", {"tasktrack.config"}) == ["tasktrack.config"]


def test_the_group_lists_and_runs_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0


def test_importing_tasktrack_leaves_the_rate_limit_parser_unloaded() -> None:
    """Every process imports the package, each worker child included; ``limits`` costs
    ~80 ms to import and only task types with a ``rate_limit`` need it."""
    assert imported_along("tasktrack", {"limits"}) == []
    code = "import tasktrack; tasktrack.TaskRegistry().task('t', rate_limit='2/second')"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_worker_command_leaves_token_and_http_libraries_unloaded() -> None:
    """A worker neither signs tokens nor, until a webhook is due, makes HTTP requests:
    PyJWT (cryptography's x509) and httpx (with its command-line module) cost ~100 ms of
    every worker start between them."""
    assert imported_along("tasktrack.cli.worker", {"jwt", "httpx", "limits"}) == []
