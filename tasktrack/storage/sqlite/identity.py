"""The SQLite IdentityStore: organisations, users, API keys, OAuth clients, grants.

Multi-row changes run as one function on the writer thread, which wraps each in a SAVEPOINT
inside one transaction: they are atomic, and other processes see all of them or none.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tasktrack.domain.identity import (
    ApiKey,
    Grant,
    OAuthClient,
    Organisation,
    RefreshToken,
    User,
)
from tasktrack.errors import Conflict
from tasktrack.storage.sqlite.connection import SQLiteDatabase

_USER = "SELECT id, org_id, email, created_at, password_hash, disabled FROM users WHERE "
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


def _user(row: Any) -> User:
    return User(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


def _insert_user(con: sqlite3.Connection, user: User) -> None:
    con.execute(
        "INSERT INTO users (id, org_id, email, password_hash, created_at, disabled) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (user.id, user.org_id, user.email, user.password_hash, user.created_at, user.disabled),
    )


def _revoke_everything_of(con: sqlite3.Connection, user_id: str) -> None:
    con.execute("UPDATE api_keys SET revoked = 1 WHERE user_id = ? AND revoked = 0", (user_id,))
    con.execute(
        "UPDATE oauth_clients SET revoked = 1 WHERE user_id = ? AND revoked = 0", (user_id,)
    )
    con.execute("UPDATE grants SET revoked = 1 WHERE user_id = ? AND revoked = 0", (user_id,))


class SQLiteIdentityStore:
    """A :class:`~tasktrack.storage.base.IdentityStore` on a :class:`SQLiteDatabase`."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def _insert(self, sql: str, args: tuple[Any, ...], what: str) -> None:
        def run(con: sqlite3.Connection) -> None:
            try:
                con.execute(sql, args)
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"{what} exists") from exc

        await self.db.write(run)

    async def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        return self.db.read_inline(lambda con: con.execute(sql, args).fetchone())

    async def _update(self, sql: str, args: tuple[Any, ...]) -> bool:
        return await self.db.write(lambda con: con.execute(sql, args).rowcount > 0)

    async def create_organisation(self, org: Organisation) -> Organisation:
        await self._insert(
            "INSERT INTO organisations (id, name, created_at) VALUES (?, ?, ?)",
            (org.id, org.name, org.created_at),
            f"organisation {org.name!r}",
        )
        return org

    async def get_organisation(self, org_id: str) -> Organisation | None:
        row = await self._one(
            "SELECT id, name, created_at FROM organisations WHERE id = ?", (org_id,)
        )
        return Organisation(*row) if row else None

    async def find_organisation(self, name: str) -> Organisation | None:
        row = await self._one(
            "SELECT id, name, created_at FROM organisations WHERE name = ?", (name,)
        )
        return Organisation(*row) if row else None

    async def create_user(self, user: User) -> User:
        def run(con: sqlite3.Connection) -> None:
            try:
                _insert_user(con, user)
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"user {user.email!r} exists") from exc

        await self.db.write(run)
        return user

    async def get_user(self, user_id: str) -> User | None:
        row = await self._one(_USER + "id = ?", (user_id,))
        return _user(row) if row else None

    async def find_user(self, email: str) -> User | None:
        row = await self._one(_USER + "email = ?", (email,))
        return _user(row) if row else None

    async def set_password(self, user_id: str, password_hash: str | None) -> bool:
        return await self._update(
            "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
        )

    async def disable_user(self, user_id: str) -> bool:
        def run(con: sqlite3.Connection) -> bool:
            cur = con.execute(
                "UPDATE users SET disabled = 1 WHERE id = ? AND disabled = 0", (user_id,)
            )
            if cur.rowcount == 0:
                return False
            _revoke_everything_of(con, user_id)
            return True

        return await self.db.write(run)

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        k = key
        await self._insert(
            "INSERT INTO api_keys (id, user_id, org_id, secret_hash, read_only, revoked, label, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                k.id,
                k.user_id,
                k.org_id,
                k.secret_hash,
                k.read_only,
                k.revoked,
                k.label,
                k.created_at,
            ),
            "api key",
        )
        return key

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        row = await self._one(
            "SELECT id, user_id, org_id, secret_hash, created_at, read_only, revoked, label "
            "FROM api_keys WHERE id = ?",
            (key_id,),
        )
        if row is None:
            return None
        return ApiKey(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]), row[7])

    async def revoke_api_key(self, key_id: str) -> bool:
        return await self._update(
            "UPDATE api_keys SET revoked = 1 WHERE id = ? AND revoked = 0", (key_id,)
        )

    async def create_oauth_client(self, client: OAuthClient, service_user: User) -> OAuthClient:
        def run(con: sqlite3.Connection) -> None:
            try:
                _insert_user(con, service_user)
                c = client
                con.execute(
                    "INSERT INTO oauth_clients (id, org_id, user_id, secret_hash, name, "
                    "read_only, revoked, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        c.id,
                        c.org_id,
                        c.user_id,
                        c.secret_hash,
                        c.name,
                        c.read_only,
                        c.revoked,
                        c.created_at,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"OAuth client {client.id} exists") from exc

        await self.db.write(run)
        return client

    async def get_oauth_client(self, client_id: str) -> OAuthClient | None:
        row = await self._one(_CLIENT, (client_id,))
        if row is None:
            return None
        return OAuthClient(
            row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), bool(row[7])
        )

    async def revoke_oauth_client(self, client_id: str) -> bool:
        def run(con: sqlite3.Connection) -> bool:
            row = con.execute(
                "SELECT user_id FROM oauth_clients WHERE id = ? AND revoked = 0", (client_id,)
            ).fetchone()
            if row is None:
                return False
            con.execute("UPDATE oauth_clients SET revoked = 1 WHERE id = ?", (client_id,))
            con.execute("UPDATE users SET disabled = 1 WHERE id = ?", (row[0],))
            _revoke_everything_of(con, row[0])
            con.execute(
                "UPDATE grants SET revoked = 1 WHERE client_id = ? AND revoked = 0", (client_id,)
            )
            return True

        return await self.db.write(run)

    async def create_grant(self, grant: Grant, first: RefreshToken) -> Grant:
        def run(con: sqlite3.Connection) -> None:
            try:
                g = grant
                con.execute(
                    "INSERT INTO grants (id, user_id, org_id, client_id, read_only, revoked, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (g.id, g.user_id, g.org_id, g.client_id, g.read_only, g.revoked, g.created_at),
                )
                _insert_refresh(con, first)
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"grant {grant.id} exists") from exc

        await self.db.write(run)
        return grant

    async def active_grant(self, grant_id: str) -> Grant | None:
        row = await self._one(_GRANT, (grant_id,))
        if row is None:
            return None
        return Grant(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]))

    async def revoke_grant(self, grant_id: str) -> bool:
        return await self._update(
            "UPDATE grants SET revoked = 1 WHERE id = ? AND revoked = 0", (grant_id,)
        )

    async def get_refresh_token(self, token_id: str) -> RefreshToken | None:
        row = await self._one(_REFRESH, (token_id,))
        if row is None:
            return None
        return RefreshToken(row[0], row[1], row[2], row[3], row[4], bool(row[5]))

    async def rotate_refresh_token(self, token_id: str, successor: RefreshToken) -> bool:
        def run(con: sqlite3.Connection) -> bool:
            cur = con.execute(
                "UPDATE refresh_tokens SET used = 1 WHERE id = ? AND used = 0 AND expires_at > ?",
                (token_id, successor.created_at),
            )
            if cur.rowcount == 0:
                return False
            try:
                _insert_refresh(con, successor)
            except sqlite3.IntegrityError as exc:
                raise Conflict("refresh token exists") from exc
            return True

        return await self.db.write(run)

    async def server_secret(self, name: str, candidate: str) -> str:
        def run(con: sqlite3.Connection) -> str:
            con.execute(
                "INSERT OR IGNORE INTO server_secrets (name, value, created_at) "
                "VALUES (?, ?, CAST(strftime('%s', 'now') AS INTEGER))",
                (name, candidate),
            )
            row = con.execute("SELECT value FROM server_secrets WHERE name = ?", (name,))
            return str(row.fetchone()[0])

        return await self.db.write(run)


def _insert_refresh(con: sqlite3.Connection, token: RefreshToken) -> None:
    t = token
    con.execute(
        "INSERT INTO refresh_tokens (id, grant_id, secret_hash, created_at, expires_at, used) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (t.id, t.grant_id, t.secret_hash, t.created_at, t.expires_at, t.used),
    )
