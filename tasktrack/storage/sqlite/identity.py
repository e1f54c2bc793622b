"""The SQLite IdentityStore: organisations, users, API keys."""

from __future__ import annotations

import sqlite3
from typing import Any

from tasktrack.domain.identity import ApiKey, Organisation, User
from tasktrack.errors import Conflict
from tasktrack.storage.sqlite.connection import SQLiteDatabase


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
        await self._insert(
            "INSERT INTO users (id, org_id, email, password_hash, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (user.id, user.org_id, user.email, user.password_hash, user.created_at),
            f"user {user.email!r}",
        )
        return user

    _USER = "SELECT id, org_id, email, created_at, password_hash FROM users WHERE "

    async def get_user(self, user_id: str) -> User | None:
        row = await self._one(self._USER + "id = ?", (user_id,))
        return User(*row) if row else None

    async def find_user(self, email: str) -> User | None:
        row = await self._one(self._USER + "email = ?", (email,))
        return User(*row) if row else None

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        await self._insert(
            "INSERT INTO api_keys (id, user_id, org_id, secret_hash, read_only, revoked, label, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        def run(con: sqlite3.Connection) -> bool:
            cur = con.execute(
                "UPDATE api_keys SET revoked = 1 WHERE id = ? AND revoked = 0", (key_id,)
            )
            return cur.rowcount == 1

        return await self.db.write(run)
