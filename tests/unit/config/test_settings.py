"""Settings: one set of ``TASKTRACK_<FIELD>`` variables, read in one place, each documented in
the README's settings table."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest

from tasktrack.api.ratelimit import RateLimitPolicy
from tasktrack.cli.config_file import CLIENT_VARIABLES
from tasktrack.config import Settings, env_name
from tasktrack.service.tokens import TokenPolicy

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "tasktrack"
#: The only modules that read the environment: the settings, and the ``tasks`` commands'
#: connection (server URL, API key, config file), which is not a server setting.
ENV_READERS = {PACKAGE / "config.py", PACKAGE / "cli" / "config_file.py"}


def readme_variables() -> set[str]:
    """Every TASKTRACK_ variable in the first column of the README's settings table."""
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "the README's Configuration section has no settings table"
    return {name for row in rows for name in re.findall(r"TASKTRACK_[A-Z_]+", row.split("|")[1])}


def test_every_setting_is_in_the_readme_table() -> None:
    missing = {env_name(f.name) for f in fields(Settings)} - readme_variables()
    assert not missing, f"add these to the README's settings table: {sorted(missing)}"


def test_every_variable_in_the_readme_table_is_read() -> None:
    known = {env_name(f.name) for f in fields(Settings)} | set(CLIENT_VARIABLES)
    unknown = readme_variables() - known
    assert not unknown, f"the README documents variables nothing reads: {sorted(unknown)}"


def test_each_setting_is_read_from_its_variable() -> None:
    env = {
        "TASKTRACK_AUTH_FAILURES_PER_MINUTE": "3",
        "TASKTRACK_ACCESS_TOKEN_TTL": "30",
        "TASKTRACK_REFRESH_TOKEN_TTL": "600",
        "TASKTRACK_API_KEY_CACHE_SECONDS": "2.5",
        "TASKTRACK_METRICS_PORT": "9100",
        "TASKTRACK_ACCESS_LOG": "1",
        "TASKTRACK_APP_MODULES": "a.tasks, b.tasks,",
    }
    settings = Settings.from_env(env)
    assert (settings.auth_failures_per_minute, settings.metrics_port, settings.access_log) == (
        3,
        9100,
        1,
    )
    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (30.0, 600.0)
    assert settings.api_key_cache_seconds == 2.5
    assert settings.app_modules == ("a.tasks", "b.tasks")


def test_flags_override_variables_and_an_empty_variable_is_unset() -> None:
    env = {"TASKTRACK_CONCURRENCY": "3", "TASKTRACK_PORT": ""}
    assert Settings.from_env(env, concurrency=5).concurrency == 5
    assert Settings.from_env(env, concurrency=None).concurrency == 3
    assert Settings.from_env(env).port == Settings().port


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TASKTRACK_ACCESS_TOKEN_TTL", "soon", "TASKTRACK_ACCESS_TOKEN_TTL must be a number"),
        ("TASKTRACK_ACCESS_TOKEN_TTL", "0", "TASKTRACK_ACCESS_TOKEN_TTL must be positive"),
        ("TASKTRACK_REFRESH_TOKEN_TTL", "-1", "TASKTRACK_REFRESH_TOKEN_TTL must be positive"),
        ("TASKTRACK_AUTH_FAILURES_PER_MINUTE", "many", "must be an integer"),
        ("TASKTRACK_AUTH_FAILURES_PER_MINUTE", "-1", "PER_MINUTE must be 0 or more"),
        ("TASKTRACK_API_KEY_CACHE_SECONDS", "-1", "CACHE_SECONDS must be 0 or more"),
        ("TASKTRACK_METRICS_PORT", "x", "TASKTRACK_METRICS_PORT must be an integer"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({variable: value})


def test_the_policies_defaults_are_the_settings_defaults() -> None:
    settings = Settings()
    assert RateLimitPolicy() == RateLimitPolicy(settings.auth_failures_per_minute)
    assert TokenPolicy() == TokenPolicy(settings.access_token_ttl, settings.refresh_token_ttl)


def _reads_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if {a.name for a in node.names} & {"environ", "getenv", "environb"}:
                return True
    return False


def test_only_the_settings_read_the_environment() -> None:
    readers = {p for p in PACKAGE.rglob("*.py") if _reads_environment(p)}
    assert readers - ENV_READERS == set()
    assert PACKAGE / "config.py" in readers  # the scan does see a reader


def test_token_lifetimes_are_settings() -> None:
    # Moved from tests/unit/service/test_identity_oauth.py: TokenPolicy no longer reads the
    # environment; the server builds it from these two settings.
    env = {"TASKTRACK_ACCESS_TOKEN_TTL": "30", "TASKTRACK_REFRESH_TOKEN_TTL": "600"}
    settings = Settings.from_env(env)
    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (30.0, 600.0)
    assert Settings.from_env({}).access_token_ttl == TokenPolicy().access_ttl
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="TASKTRACK_ACCESS_TOKEN_TTL"):
            Settings.from_env({"TASKTRACK_ACCESS_TOKEN_TTL": bad})
