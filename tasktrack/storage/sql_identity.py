"""The SQL IdentityStore, written once for SQLite and PostgreSQL (same tables, same columns).

Multi-row changes are one guarded transaction: the first statement decides (a user still
enabled, a client still active, a refresh token still unused) and the rest follow only if it
changed a row, so a concurrent sign-in sees all of the change or none of it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from tasktrack.domain.identity import ApiKey, Grant, OAuthClient, Organisation, RefreshToken, User
from tasktrack.errors import Conflict, StorageError
from tasktrack.storage.dialect import Dialect, Row, Statement

_ORG = "SELECT id, name, created_at FROM organisations WHERE "
_USER = "SELECT id, org_id, email, created_at, password_hash, disabled FROM users WHERE "
_KEY = (
    "SELECT id, user_id, org_id, secret_hash, created_at, read_only, revoked, label "
    "FROM api_keys WHERE id = ?"
)
_CLIENT = (
    "SELECT id, org_id, user_id, secret_hash, created_at, name, read_only, revoked "
    "FROM oauth_clients WHERE id = ?"
)
_GRANT = (
    "SELECT g.id, g.user_id, g.org_id, g.created_at, g.client_id, g.read_only, g.revoked "
    "FROM grants g JOIN users u ON u.id = g.user_id "
    "WHERE g.id = ? AND g.revoked = 0 AND u.disabled = 0"
)
_REFRESH = (
    "SELECT id, grant_id, secret_hash, created_at, expires_at, used "
    "FROM refresh_tokens WHERE id = ?"
)
_CLIENT_USER = "(SELECT user_id FROM oauth_clients WHERE id = ?)"
#: Listings: never the hashes (read as '' or NULL), oldest first. ``{where}``: an org filter.
_LIST = {
    "organisations": "SELECT id, name, created_at FROM organisations{where}",
    # '' for a password hash: the user has a password (whether it does is worth showing).
    "users": (
        "SELECT id, org_id, email, created_at, "
        "CASE WHEN password_hash IS NULL THEN NULL ELSE '' END, disabled FROM users{where}"
    ),
    "api_keys": (
        "SELECT id, user_id, org_id, '', created_at, read_only, revoked, label FROM api_keys{where}"
    ),
    "oauth_clients": (
        "SELECT id, org_id, user_id, '', created_at, name, read_only, revoked "
        "FROM oauth_clients{where}"
    ),
}


def _insert(table: str, columns: str, args: tuple[Any, ...]) -> Statement:
    marks = ", ".join("?" * len(args))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})", args


def _insert_user(u: User) -> Statement:
    columns = "id, org_id, email, password_hash, created_at, disabled"
    return _insert(
        "users", columns, (u.id, u.org_id, u.email, u.password_hash, u.created_at, int(u.disabled))
    )


def _insert_refresh(t: RefreshToken) -> Statement:
    columns = "id, grant_id, secret_hash, created_at, expires_at, used"
    return _insert(
        "refresh_tokens",
        columns,
        (t.id, t.grant_id, t.secret_hash, t.created_at, t.expires_at, int(t.used)),
    )


def _revoke_everything_of(user: str, args: tuple[Any, ...]) -> list[Statement]:
    """Revoke the API keys, OAuth clients and grants of the user ``user`` (SQL) selects."""
    return [
        (f"UPDATE {table} SET revoked = 1 WHERE user_id = {user} AND revoked = 0", args)
        for table in ("api_keys", "oauth_clients", "grants")
    ]


def _user(row: Row) -> User:
    return User(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


def _flags(row: Row, first: int) -> list[Any]:
    """``row`` with its 0/1 columns from ``first`` on read as booleans (where they end)."""
    return [*row[:first], *(bool(v) for v in row[first:])]


class SqlIdentityStore:
    """A :class:`~tasktrack.storage.base.IdentityStore` on any :class:`Dialect`."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        #: Revocations made through this store: seen at once by this process, without
        #: waiting for the database's notification to come back (PostgreSQL).
        self._changes = 0

    async def identity_epoch(self) -> tuple[int, int] | None:
        shared = await self.dialect.identity_epoch()
        return None if shared is None else (shared, self._changes)

    async def _revoke(self, statements: Sequence[Statement]) -> bool:
        try:
            return await self.dialect.write_guarded(statements)
        finally:
            self._changes += 1  # a write that failed may still have committed

    async def _write(self, statements: Sequence[Statement], what: str) -> None:
        try:
            await self.dialect.write_all(statements)
        except StorageError as exc:
            if self.dialect.is_duplicate(exc):
                raise Conflict(f"{what} exists") from exc
            raise

    async def _one(self, sql: str, *args: Any) -> Row | None:
        return await self.dialect.lookup_one((sql, args))

    async def _update(self, sql: str, *args: Any) -> bool:
        return await self.dialect.write_guarded([(sql, args)])

    async def create_organisation(self, org: Organisation) -> Organisation:
        statement = _insert(
            "organisations", "id, name, created_at", (org.id, org.name, org.created_at)
        )
        await self._write([statement], f"organisation {org.name!r}")
        return org

    async def get_organisation(self, org_id: str) -> Organisation | None:
        row = await self._one(_ORG + "id = ?", org_id)
        return Organisation(*row) if row else None

    async def find_organisation(self, name: str) -> Organisation | None:
        row = await self._one(_ORG + "name = ?", name)
        return Organisation(*row) if row else None

    async def _list(self, table: str, org_id: str | None) -> list[Row]:
        where = "" if org_id is None else " WHERE org_id = ?"
        sql = _LIST[table].format(where=where) + " ORDER BY created_at, id"
        return await self.dialect.scan_all((sql, () if org_id is None else (org_id,)))

    async def list_organisations(self) -> list[Organisation]:
        return [Organisation(*row) for row in await self._list("organisations", None)]

    async def list_users(self, org_id: str | None = None) -> list[User]:
        return [_user(row) for row in await self._list("users", org_id)]

    async def list_api_keys(self, org_id: str | None = None) -> list[ApiKey]:
        rows = await self._list("api_keys", org_id)
        return [ApiKey(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6]), r[7]) for r in rows]

    async def list_oauth_clients(self, org_id: str | None = None) -> list[OAuthClient]:
        rows = await self._list("oauth_clients", org_id)
        return [OAuthClient(*_flags(row, 6)) for row in rows]

    async def create_user(self, user: User) -> User:
        await self._write([_insert_user(user)], f"user {user.email!r}")
        return user

    async def get_user(self, user_id: str) -> User | None:
        row = await self._one(_USER + "id = ?", user_id)
        return _user(row) if row else None

    async def find_user(self, email: str) -> User | None:
        row = await self._one(_USER + "email = ?", email)
        return _user(row) if row else None

    async def set_password(self, user_id: str, password_hash: str | None) -> bool:
        return await self._update(
            "UPDATE users SET password_hash = ? WHERE id = ?", password_hash, user_id
        )

    async def disable_user(self, user_id: str) -> bool:
        return await self._revoke(
            [
                ("UPDATE users SET disabled = 1 WHERE id = ? AND disabled = 0", (user_id,)),
                *_revoke_everything_of("?", (user_id,)),
            ]
        )

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        k = key
        columns = "id, user_id, org_id, secret_hash, read_only, revoked, label, created_at"
        args = (
            k.id,
            k.user_id,
            k.org_id,
            k.secret_hash,
            int(k.read_only),
            int(k.revoked),
            k.label,
            k.created_at,
        )
        await self._write([_insert("api_keys", columns, args)], "api key")
        return key

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        row = await self._one(_KEY, key_id)
        if row is None:
            return None
        return ApiKey(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]), row[7])

    async def revoke_api_key(self, key_id: str) -> bool:
        return await self._revoke(
            [("UPDATE api_keys SET revoked = 1 WHERE id = ? AND revoked = 0", (key_id,))]
        )

    async def create_oauth_client(self, client: OAuthClient, service_user: User) -> OAuthClient:
        c = client
        columns = "id, org_id, user_id, secret_hash, name, read_only, revoked, created_at"
        args = (
            c.id,
            c.org_id,
            c.user_id,
            c.secret_hash,
            c.name,
            int(c.read_only),
            int(c.revoked),
            c.created_at,
        )
        statements = [_insert_user(service_user), _insert("oauth_clients", columns, args)]
        await self._write(statements, f"OAuth client {client.id}")
        return client

    async def get_oauth_client(self, client_id: str) -> OAuthClient | None:
        row = await self._one(_CLIENT, client_id)
        return OAuthClient(*_flags(row, 6)) if row else None

    async def revoke_oauth_client(self, client_id: str) -> bool:
        # The client row is revoked first: a concurrent revoke finds it revoked and stops.
        return await self._revoke(
            [
                ("UPDATE oauth_clients SET revoked = 1 WHERE id = ? AND revoked = 0", (client_id,)),
                (f"UPDATE users SET disabled = 1 WHERE id = {_CLIENT_USER}", (client_id,)),
                *_revoke_everything_of(_CLIENT_USER, (client_id,)),
                ("UPDATE grants SET revoked = 1 WHERE client_id = ? AND revoked = 0", (client_id,)),
            ]
        )

    async def create_grant(self, grant: Grant, first: RefreshToken) -> Grant:
        g = grant
        columns = "id, user_id, org_id, client_id, read_only, revoked, created_at"
        args = (
            g.id,
            g.user_id,
            g.org_id,
            g.client_id,
            int(g.read_only),
            int(g.revoked),
            g.created_at,
        )
        statements = [_insert("grants", columns, args), _insert_refresh(first)]
        await self._write(statements, f"grant {grant.id}")
        return grant

    async def active_grant(self, grant_id: str) -> Grant | None:
        row = await self._one(_GRANT, grant_id)
        return Grant(*_flags(row, 5)) if row else None

    async def revoke_grant(self, grant_id: str) -> bool:
        return await self._revoke(
            [("UPDATE grants SET revoked = 1 WHERE id = ? AND revoked = 0", (grant_id,))]
        )

    async def get_refresh_token(self, token_id: str) -> RefreshToken | None:
        row = await self._one(_REFRESH, token_id)
        return RefreshToken(*_flags(row, 5)) if row else None

    async def rotate_refresh_token(self, token_id: str, successor: RefreshToken) -> bool:
        use = (
            "UPDATE refresh_tokens SET used = 1 WHERE id = ? AND used = 0 AND expires_at > ?",
            (token_id, successor.created_at),
        )
        try:
            return await self.dialect.write_guarded([use, _insert_refresh(successor)])
        except StorageError as exc:
            if self.dialect.is_duplicate(exc):
                raise Conflict("refresh token exists") from exc
            raise

    async def server_secret(self, name: str, candidate: str) -> str:
        keep_first = (
            "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (name, candidate, int(time.time())),
        )
        read = ("SELECT value FROM server_secrets WHERE name = ?", (name,))
        row = await self.dialect.write_first([keep_first, read])
        return str(row[0]) if row else candidate

    async def put_server_secrets(self, values: Mapping[str, str]) -> None:
        upsert = (
            "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE "
            "SET value = excluded.value, created_at = excluded.created_at"
        )
        now = int(time.time())
        await self.dialect.write_all([(upsert, (n, v, now)) for n, v in values.items()])
