"""``org list``, ``user list``, ``apikey list`` and ``oauth-client list`` in a subprocess:
what each shows (and filters by organisation), and that no secret or hash is ever printed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli_identity import PASSWORD, db_url, ok, tasktrack  # noqa: F401 (fixture)

SECRET_MARKERS = ("$argon2", "secret_hash", "password_hash")


def test_every_list_shows_ids_and_no_secret(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    ok(tasktrack(db_url, "org", "create", "acme"))
    ok(tasktrack(db_url, "org", "create", "globex"))
    args = ["user", "create", "--org", "acme", "--email", "ann@acme.test"]
    ok(tasktrack(db_url, *args, stdin=PASSWORD + "\n"))
    key = ok(tasktrack(db_url, "apikey", "create", "--user", "ann@acme.test", "--label", "ci"))
    client = ok(tasktrack(db_url, "oauth-client", "create", "--org", "acme", "--name", "bot"))
    client_secret = next(ln.split()[-1] for ln in client if ln.startswith("client_secret:"))
    secret_part = key[-1][len("tt_") + 24 + 1 :]  # tt_<id>_<secret>: the id may show, not this

    def listed(*command: str) -> list[dict[str, object]]:
        done = tasktrack(db_url, *command, "--output", "json")
        text = "\n".join(ok(done))
        assert secret_part not in text and client_secret not in text
        assert not any(marker in text for marker in SECRET_MARKERS), text
        rows: list[dict[str, object]] = json.loads(text)
        return rows

    orgs = listed("org", "list")
    # Oldest first; organisations created within the same second may come in either order.
    assert sorted(o["name"] for o in orgs) == ["acme", "default", "globex"]
    acme = next(o["id"] for o in orgs if o["name"] == "acme")
    users = listed("user", "list", "--org", "acme")
    # Oldest first, but the OAuth client's service user may share ann's second: look her up.
    passwords = {u["email"]: u["password"] for u in users}
    assert passwords["ann@acme.test"] is True
    assert [p for e, p in passwords.items() if e != "ann@acme.test"] == [False]  # the client's
    assert {u["org"] for u in users} == {acme}
    (api_key,) = listed("apikey", "list", "--org", "acme")
    assert (api_key["label"], api_key["revoked"]) == ("ci", False)
    assert key[-1].startswith(f"tt_{api_key['id']}_")  # the id, never the secret after it
    (oauth,) = listed("oauth-client", "list", "--org", "acme")
    assert oauth["name"] == "bot"
    assert listed("oauth-client", "list", "--org", "globex") == []

    table = ok(tasktrack(db_url, "apikey", "list"))
    assert table[0].split() == ["ID", "ORG", "USER", "LABEL", "READ_ONLY", "REVOKED", "CREATED"]
    assert secret_part not in "\n".join(table)


def test_an_unknown_organisation_is_one_line_and_exit_1(db_url: str) -> None:  # noqa: F811
    done = tasktrack(db_url, "user", "list", "--org", "nope")
    assert (done.returncode, done.stderr.strip()) == (1, "error: no organisation 'nope'")
