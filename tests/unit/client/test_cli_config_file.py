"""Where the CLI finds the server: flag > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasktrack.cli.config_file import ConfigError, Connection, config_path, resolve, split_url


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('url = "http://file:1"\napi_key = "file-key"\n')
    return path


def test_flags_win_over_everything(config: Path) -> None:
    env = {"TASKTRACK_URL": "http://env:2", "TASKTRACK_API_KEY": "env", "TASKTRACK_CONFIG": "x"}
    assert resolve("http://flag:3", "flag-key", env) == Connection(
        "http://flag:3", "/v2.0", "flag-key"
    )


def test_environment_wins_over_the_file(config: Path) -> None:
    env = {"TASKTRACK_URL": "http://env:2", "TASKTRACK_CONFIG": str(config)}
    assert resolve(None, None, env) == Connection("http://env:2", "/v2.0", "file-key")


def test_the_file_fills_what_flags_and_environment_leave_open(config: Path) -> None:
    assert resolve(None, None, {"TASKTRACK_CONFIG": str(config)}) == Connection(
        "http://file:1", "/v2.0", "file-key"
    )


def test_the_default_is_the_local_server_without_a_key(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "none")}
    assert resolve(None, None, env) == Connection("http://127.0.0.1:8000", "/v2.0", None)


def test_the_default_file_lives_under_xdg_config_home(tmp_path: Path) -> None:
    path = tmp_path / "tasktrack" / "config.toml"
    path.parent.mkdir()
    path.write_text('api_key = "k"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert config_path(env) == path
    assert resolve(None, None, env).api_key == "k"


def test_a_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(None, None, {"TASKTRACK_CONFIG": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("url = ", "not valid TOML"),
        ('apikey = "k"', "unknown keys"),
        ("url = 5", "must be a string"),
    ],
)
def test_a_bad_config_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        resolve(None, None, {"TASKTRACK_CONFIG": str(path)})


def test_a_broken_file_is_not_read_when_flags_say_everything(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("url = ")
    assert resolve("http://a", "k", {"TASKTRACK_CONFIG": str(path)}).api_key == "k"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h:8000", ("http://h:8000", "/v2.0")),
        ("http://h:8000/", ("http://h:8000", "/v2.0")),
        ("https://h/new/v2.0", ("https://h", "/new/v2.0")),
        ("https://h/v2.0/", ("https://h", "/v2.0")),
        ("https://h/proxy", ("https://h", "/proxy/v2.0")),
    ],
)
def test_the_url_path_names_the_base_path(url: str, expected: tuple[str, str]) -> None:
    assert split_url(url) == expected


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://h", "http://", "http://h/?a=1"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        split_url(url)
