"""The PostgreSQL IdentityStore. Its SQL is the SQLite store's (same tables, same columns),
with ``%s`` placeholders; multi-row changes run in one transaction."""

from __future__ import annotations

from typing import Any

import psycopg

from tasktrack.domain.identity import ApiKey, Grant, OAuthClient, Organisation, RefreshToken, User
from tasktrack.errors import Conflict, StorageError
from tasktrack.storage.postgres.connection import PostgresDatabase
from tasktrack.storage.sqlite import identity as lite


def q(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (our SQL has no other ``?``)."""
    return sql.replace("?", "%s")


_USER, _CLIENT, _GRANT, _REFRESH = q(lite._USER), q(lite._CLIENT), q(lite._GRANT), q(lite._REFRESH)
_INSERT_USER = (
    "INSERT INTO users (id, org_id, email, password_hash, created_at, disabled) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
_INSERT_REFRESH = (
    "INSERT INTO refresh_tokens (id, grant_id, secret_hash, created_at, expires_at, used) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
_REVOKE_ALL_OF_USER = (
    "UPDATE api_keys SET revoked = 1 WHERE user_id = %s AND revoked = 0",
    "UPDATE oauth_clients SET revoked = 1 WHERE user_id = %s AND revoked = 0",
    "UPDATE grants SET revoked = 1 WHERE user_id = %s AND revoked = 0",
)


def _user_args(user: User) -> tuple[Any, ...]:
    return (
        user.id,
        user.org_id,
        user.email,
        user.password_hash,
        user.created_at,
        int(user.disabled),
    )


def _refresh_args(t: RefreshToken) -> tuple[Any, ...]:
    return (t.id, t.grant_id, t.secret_hash, t.created_at, t.expires_at, int(t.used))


class PostgresIdentityStore:
    """A :class:`~tasktrack.storage.base.IdentityStore` on a :class:`PostgresDatabase`."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        async with self.db.connection() as con:
            return await (await con.execute(sql, args)).fetchone()

    async def _update(self, sql: str, args: tuple[Any, ...]) -> bool:
        async with self.db.connection() as con:
            return (await con.execute(sql, args)).rowcount > 0

    async def _insert(self, statements: list[tuple[str, tuple[Any, ...]]], what: str) -> None:
        try:
            async with self.db.connection() as con, con.transaction():
                for sql, args in statements:
                    await con.execute(sql, args)
        except StorageError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise Conflict(f"{what} exists") from exc
            raise

    async def create_organisation(self, org: Organisation) -> Organisation:
        await self._insert(
            [
                (
                    "INSERT INTO organisations (id, name, created_at) VALUES (%s, %s, %s)",
                    (org.id, org.name, org.created_at),
                )
            ],
            f"organisation {org.name!r}",
        )
        return org

    async def get_organisation(self, org_id: str) -> Organisation | None:
        row = await self._one(
            "SELECT id, name, created_at FROM organisations WHERE id = %s", (org_id,)
        )
        return Organisation(*row) if row else None

    async def find_organisation(self, name: str) -> Organisation | None:
        row = await self._one(
            "SELECT id, name, created_at FROM organisations WHERE name = %s", (name,)
        )
        return Organisation(*row) if row else None

    async def create_user(self, user: User) -> User:
        await self._insert([(_INSERT_USER, _user_args(user))], f"user {user.email!r}")
        return user

    async def get_user(self, user_id: str) -> User | None:
        row = await self._one(_USER + "id = %s", (user_id,))
        return lite._user(row) if row else None

    async def find_user(self, email: str) -> User | None:
        row = await self._one(_USER + "email = %s", (email,))
        return lite._user(row) if row else None

    async def set_password(self, user_id: str, password_hash: str | None) -> bool:
        return await self._update(
            "UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id)
        )

    async def disable_user(self, user_id: str) -> bool:
        async with self.db.connection() as con, con.transaction():
            cur = await con.execute(
                "UPDATE users SET disabled = 1 WHERE id = %s AND disabled = 0", (user_id,)
            )
            if cur.rowcount == 0:
                return False
            for sql in _REVOKE_ALL_OF_USER:
                await con.execute(sql, (user_id,))
            return True

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        await self._insert(
            [
                (
                    "INSERT INTO api_keys (id, user_id, org_id, secret_hash, read_only, revoked, "
                    "label, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        key.id,
                        key.user_id,
                        key.org_id,
                        key.secret_hash,
                        int(key.read_only),
                        int(key.revoked),
                        key.label,
                        key.created_at,
                    ),
                )
            ],
            "api key",
        )
        return key

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        row = await self._one(
            "SELECT id, user_id, org_id, secret_hash, created_at, read_only, revoked, label "
            "FROM api_keys WHERE id = %s",
            (key_id,),
        )
        if row is None:
            return None
        return ApiKey(
            id=row[0],
            user_id=row[1],
            org_id=row[2],
            secret_hash=row[3],
            created_at=row[4],
            read_only=bool(row[5]),
            revoked=bool(row[6]),
            label=row[7],
        )

    async def revoke_api_key(self, key_id: str) -> bool:
        return await self._update(
            "UPDATE api_keys SET revoked = 1 WHERE id = %s AND revoked = 0", (key_id,)
        )

    async def create_oauth_client(self, client: OAuthClient, service_user: User) -> OAuthClient:
        await self._insert(
            [
                (_INSERT_USER, _user_args(service_user)),
                (
                    "INSERT INTO oauth_clients (id, org_id, user_id, secret_hash, name, read_only, "
                    "revoked, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        client.id,
                        client.org_id,
                        client.user_id,
                        client.secret_hash,
                        client.name,
                        int(client.read_only),
                        int(client.revoked),
                        client.created_at,
                    ),
                ),
            ],
            f"OAuth client {client.id}",
        )
        return client

    async def get_oauth_client(self, client_id: str) -> OAuthClient | None:
        row = await self._one(_CLIENT, (client_id,))
        if row is None:
            return None
        return OAuthClient(
            row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), bool(row[7])
        )

    async def revoke_oauth_client(self, client_id: str) -> bool:
        async with self.db.connection() as con, con.transaction():
            row = await (
                await con.execute(
                    "SELECT user_id FROM oauth_clients WHERE id = %s AND revoked = 0 FOR UPDATE",
                    (client_id,),
                )
            ).fetchone()
            if row is None:
                return False
            await con.execute("UPDATE oauth_clients SET revoked = 1 WHERE id = %s", (client_id,))
            await con.execute("UPDATE users SET disabled = 1 WHERE id = %s", (row[0],))
            for sql in _REVOKE_ALL_OF_USER:
                await con.execute(sql, (row[0],))
            await con.execute(
                "UPDATE grants SET revoked = 1 WHERE client_id = %s AND revoked = 0", (client_id,)
            )
            return True

    async def create_grant(self, grant: Grant, first: RefreshToken) -> Grant:
        await self._insert(
            [
                (
                    "INSERT INTO grants (id, user_id, org_id, client_id, read_only, revoked, "
                    "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        grant.id,
                        grant.user_id,
                        grant.org_id,
                        grant.client_id,
                        int(grant.read_only),
                        int(grant.revoked),
                        grant.created_at,
                    ),
                ),
                (_INSERT_REFRESH, _refresh_args(first)),
            ],
            f"grant {grant.id}",
        )
        return grant

    async def active_grant(self, grant_id: str) -> Grant | None:
        row = await self._one(_GRANT, (grant_id,))
        if row is None:
            return None
        return Grant(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]))

    async def revoke_grant(self, grant_id: str) -> bool:
        return await self._update(
            "UPDATE grants SET revoked = 1 WHERE id = %s AND revoked = 0", (grant_id,)
        )

    async def get_refresh_token(self, token_id: str) -> RefreshToken | None:
        row = await self._one(_REFRESH, (token_id,))
        if row is None:
            return None
        return RefreshToken(row[0], row[1], row[2], row[3], row[4], bool(row[5]))

    async def rotate_refresh_token(self, token_id: str, successor: RefreshToken) -> bool:
        try:
            async with self.db.connection() as con, con.transaction():
                cur = await con.execute(
                    "UPDATE refresh_tokens SET used = 1 WHERE id = %s AND used = 0 "
                    "AND expires_at > %s",
                    (token_id, successor.created_at),
                )
                if cur.rowcount == 0:
                    return False
                await con.execute(_INSERT_REFRESH, _refresh_args(successor))
                return True
        except StorageError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise Conflict("refresh token exists") from exc
            raise

    async def server_secret(self, name: str, candidate: str) -> str:
        async with self.db.connection() as con, con.transaction():
            await con.execute(
                "INSERT INTO server_secrets (name, value, created_at) "
                "VALUES (%s, %s, extract(epoch FROM now())::bigint) ON CONFLICT (name) DO NOTHING",
                (name, candidate),
            )
            row = await (
                await con.execute("SELECT value FROM server_secrets WHERE name = %s", (name,))
            ).fetchone()
            return str(row[0]) if row else candidate
