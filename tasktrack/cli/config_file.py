"""Where the ``tasks`` commands find the server: flag > environment > config file > default.

The config file is TOML, at ``$TASKTRACK_CONFIG`` or else
``$XDG_CONFIG_HOME/tasktrack/config.toml`` (``~/.config/tasktrack/config.toml``)::

    url = "https://tasks.example.com"
    api_key = "tt_..."

A URL whose path ends in ``/v2.0`` (e.g. ``https://host/new/v2.0``) names the API's base path
itself; any other path is a prefix in front of ``/v2.0``.

:func:`connection_options` adds ``--url``/``--api-key`` to a command (and to the group, so either
place works); :func:`client_from` builds the client from all of the above.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec
from urllib.parse import urlsplit

import click

from tasktrack.client import TaskTrackClient
from tasktrack.client.core import DEFAULT_BASE_PATH, DEFAULT_URL

KEYS = ("url", "api_key")
#: The client's own environment variables: where the ``tasks`` commands connect, and the
#: config file. They are not server settings (:class:`tasktrack.config.Settings`); the
#: README's settings table lists them too.
ENV_URL = "TASKTRACK_URL"
ENV_API_KEY = "TASKTRACK_API_KEY"
ENV_CONFIG = "TASKTRACK_CONFIG"
CLIENT_VARIABLES = (ENV_URL, ENV_API_KEY, ENV_CONFIG)
P = ParamSpec("P")


class ConfigError(ValueError):
    """The config file, or a URL, cannot be used."""


@dataclass(frozen=True, slots=True)
class Connection:
    """Where and as whom to connect."""

    base_url: str
    base_path: str
    api_key: str | None


def config_path(env: Mapping[str, str]) -> Path:
    """The config file's path (it need not exist)."""
    explicit = env.get(ENV_CONFIG)
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tasktrack" / "config.toml"


def read_config(env: Mapping[str, str]) -> dict[str, str]:
    """The config file's settings; a missing default file is empty, a missing
    ``$TASKTRACK_CONFIG`` file is an error."""
    path = config_path(env)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if env.get(ENV_CONFIG):
            raise ConfigError(f"config file {path} (from {ENV_CONFIG}) does not exist") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"config file {path}: unknown keys {unknown}; known: {', '.join(KEYS)}")
    for key, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(f"config file {path}: {key} must be a string")
    return dict(data)


def resolve(
    url: str | None, api_key: str | None, env: Mapping[str, str] | None = None
) -> Connection:
    """The connection from flags (``url``, ``api_key``), then ``TASKTRACK_URL`` /
    ``TASKTRACK_API_KEY``, then the config file, then the default URL (and no key)."""
    env = os.environ if env is None else env
    url = url or env.get(ENV_URL) or None
    api_key = api_key or env.get(ENV_API_KEY) or None
    if url is None or api_key is None:
        file = read_config(env)
        url = url or file.get("url") or DEFAULT_URL
        api_key = api_key or file.get("api_key") or None
    base_url, base_path = split_url(url)
    return Connection(base_url, base_path, api_key)


def split_url(url: str) -> tuple[str, str]:
    """``https://host/prefix`` -> (``https://host``, ``/prefix/v2.0``)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"server URL must look like http://host:port, got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"server URL must not have a query or fragment: {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith(DEFAULT_BASE_PATH):
        path += DEFAULT_BASE_PATH
    return f"{parts.scheme}://{parts.netloc}", path


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            ctx.ensure_object(dict)[key] = value
        return value

    return callback


def connection_options(fn: Callable[P, None]) -> Callable[P, None]:
    """``--url`` and ``--api-key``, accepted on the group and on every command."""
    fn = click.option(
        "--api-key",
        expose_value=False,
        callback=_remember("api_key"),
        help=f"API key. [env: {ENV_API_KEY}; config file: api_key]",
    )(fn)
    return click.option(
        "--url",
        expose_value=False,
        callback=_remember("url"),
        help=f"Server URL. [env: {ENV_URL}; config file: url; default {DEFAULT_URL}]",
    )(fn)


def client_from(ctx: click.Context) -> TaskTrackClient:
    """A client for the connection the flags, environment and config file name."""
    given = ctx.find_object(dict) or {}
    conn = resolve(given.get("url"), given.get("api_key"))
    return TaskTrackClient(conn.base_url, api_key=conn.api_key, base_path=conn.base_path)
