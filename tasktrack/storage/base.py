"""The storage interfaces: the only view of a database the service layer has.

Every write that belongs to a running attempt is *fenced*: it names the attempt number the
claim returned and is applied only while that attempt is still the task's current one and
the task is still running. A refused fenced write raises :class:`~tasktrack.errors.LeaseLost`.

Lifecycle moves are enforced atomically inside each store (conditional updates), following
the table in :mod:`tasktrack.domain.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from tasktrack.domain.fairness import DEFAULT_QUEUE
from tasktrack.domain.flow import Limits
from tasktrack.domain.history import Attempt, LogLine, Outcome, TaskResult
from tasktrack.domain.identity import (
    ApiKey,
    Grant,
    OAuthClient,
    Organisation,
    RefreshToken,
    User,
)
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import ListQuery, Page, Scope
from tasktrack.domain.logs import LogEntry
from tasktrack.domain.task import Task, TraceContext
from tasktrack.storage.dedup_base import DedupStore
from tasktrack.storage.workers_base import StatsStore, WorkerStore


class TaskStore(DedupStore, Protocol):
    """Durable task storage. Implementations: memory, SQLite, PostgreSQL."""

    async def create(self, task: Task, trace: TraceContext | None = None) -> Task:
        """Insert a new task; committed durably before this returns. ``trace``: the W3C
        trace context it was created under, kept beside it (issue 16)."""
        ...

    async def trace_context(self, task_id: str) -> TraceContext | None:
        """The trace context ``create`` kept for the task, if any."""
        ...

    async def get(self, task_id: str, scope: Scope | None = None) -> Task | None:
        """The task, or None if it does not exist or lies outside ``scope``."""
        ...

    async def list_page(self, query: ListQuery) -> Page:
        """One page of tasks within ``query.scope``, with the total count of matches."""
        ...

    async def request_cancel(self, task_id: str, scope: Scope, user_id: str, now: float) -> Task:
        """queued → cancelled, active → cancelling; cancelling/cancelled are returned unchanged.

        Raises NotFound outside scope, Conflict for done/error.
        """
        ...

    async def claim(
        self,
        worker_id: str,
        names: Collection[str],
        limit: int,
        lease_seconds: float,
        now: float,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
        limits: Mapping[str, Limits] | None = None,
    ) -> list[Task]:
        """Take up to ``limit`` due queued tasks of ``names`` in ``queues``, under a lease.

        Claims rotate round-robin over lanes (a queue of an organisation; see
        :mod:`tasktrack.domain.fairness`), taking from the lane in turn first, by priority
        (higher first), then due time (``run_after``), then id; when that lane has nothing
        due for these names, from the next lanes in turn. Each returned task is ``active``
        with ``attempts`` incremented: the fencing token.
        ``limits`` (by task name) caps what may start: a type's running attempts, those
        sharing a concurrency key, and its starts per window (:mod:`tasktrack.domain.flow`),
        counted across every claimer of the database in the claim's transaction.
        """
        ...

    async def upcoming(
        self, scope: Scope, now: float, after: tuple[float, str] | None, limit: int
    ) -> list[Task]:
        """Queued tasks of ``scope`` not yet due at ``now``, soonest first (then by id), after
        the keyset position ``after`` (due time, id): the dashboard's scheduled view."""
        ...

    async def next_due(self, now: float) -> float | None:
        """When the next queued task not yet due falls due (any queue: a hint for the
        worker's timer), or None."""
        ...

    async def renew_leases(
        self, worker_id: str, claims: Collection[tuple[str, int]], lease_seconds: float, now: float
    ) -> dict[str, Status]:
        """Extend the leases of ``(task_id, attempt)`` still held; returns their statuses.

        A claim missing from the result was lost (reclaimed, finished, or expired).
        """
        ...

    async def record_progress(
        self, task_id: str, attempt: int, current_step: int, total_step: int, now: float
    ) -> Status:
        """Store step progress of a running attempt; returns the status (to see cancelling)."""
        ...

    async def finish(
        self, task_id: str, attempt: int, now: float, result_json: str | None = None
    ) -> Task:
        """active/cancelling → done, with ``currentStep = totalStep``.

        ``result_json`` (the handler's return value as JSON text) is stored as the task's
        result in the same transaction, only if the move happened; None stores no result."""
        ...

    async def fail(
        self,
        task_id: str,
        attempt: int,
        reason: str,
        now: float,
        outcome: Outcome = Outcome.ERROR,
    ) -> Task:
        """active/cancelling → error with ``reason``; the attempt is recorded as ``outcome``
        (ERROR, or TIMEOUT when it ran past its time)."""
        ...

    async def retry(
        self, task_id: str, attempt: int, run_after: float, now: float, reason: str = ""
    ) -> Task:
        """active → queued to run again after ``run_after`` (progress back to 0); cancelling →
        cancelled instead. The attempt is recorded as an error with ``reason``."""
        ...

    async def stop(self, task_id: str, attempt: int, now: float) -> Task:
        """cancelling → cancelled: the handler stopped on a cancel request."""
        ...

    async def release(self, task_id: str, attempt: int, now: float) -> Task:
        """Give a running task back (worker shutdown): active → queued without spending an
        attempt; cancelling → cancelled."""
        ...

    async def expire_leases(self, now: float, lost_reason: str) -> list[Task]:
        """Recover running tasks whose lease lapsed before ``now``.

        active → queued while attempts remain, else error with ``lost_reason``;
        cancelling → cancelled. Returns the recovered tasks as they now are.
        """
        ...

    async def statuses(self, task_ids: Collection[str]) -> dict[str, Status]:
        """Current status of each existing task in ``task_ids`` (a cheap read for polling)."""
        ...

    async def count_by_status(self) -> dict[Status, int]:
        """Tasks per status across all organisations (for metrics)."""
        ...

    async def compact_counts(self) -> int:
        """Fold pending counter deltas into the list totals' counters (PostgreSQL; a no-op
        elsewhere, and while another process compacts). Returns how many were folded."""
        ...

    async def wait_queued(self, timeout: float) -> None:
        """Return when a task may have become claimable, or after ``timeout`` seconds.

        A hint, not a promise: callers re-check. Backends with push notifications
        (PostgreSQL LISTEN/NOTIFY) return early across processes; others only for changes
        made through this store object.
        """
        ...

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        """Return when one of ``task_ids`` may have changed, or after ``timeout`` seconds."""
        ...

    async def close(self) -> None: ...

    async def get_result(self, task_id: str) -> TaskResult | None:
        """The stored result of a ``done`` task, or None (none stored, or no such task)."""
        ...

    async def has_result(self, task_id: str) -> bool:
        """Whether a result is stored for the task, without reading it (it may be 1 MiB)."""
        ...

    async def reruns(self, task_id: str, limit: int) -> list[str]:
        """Ids of the tasks created as re-runs of ``task_id``, newest first, at most ``limit``."""

    async def attempts(self, task_id: str, scope: Scope | None = None) -> list[Attempt] | None:
        """The task's attempts, oldest first: each ended one (recorded by the move that ended
        it: finish, fail, stop, retry, release, expiry) and the running one, read from the
        task itself. None if the task does not exist or lies outside ``scope``."""

    # -- per-task logs (issue 13) ------------------------------------------------------------

    async def append_logs(
        self, task_id: str, attempt: int, lines: Sequence[LogEntry], dropped: int = 0
    ) -> None:
        """Append a running attempt's log lines to its task, in one transaction.

        ``dropped``: lines the caller already dropped before these (its buffer overflowed);
        they count into the marker once the cap is reached.

        Messages are cut to LOG_MESSAGE_MAX_CHARS; beyond LOG_LINES_PER_TASK lines per task
        the oldest are dropped and one marker line (level ``DROPPED``, "… N earlier lines
        dropped") stands in their place. Lines of a task that no longer exists are dropped.
        Wakes :meth:`wait_changed` waiters of the task (in this process).
        """
        ...

    async def logs(self, task_id: str, after: int = 0, limit: int = 100) -> list[LogLine]:
        """Up to ``limit`` of the task's stored log lines with ``seq > after``, oldest first."""

    # -- retention (issue 13) ------------------------------------------------------------

    async def delete(self, task_id: str, scope: Scope) -> Task:
        """Delete a finished task with its result, attempts and logs; returns it as it was.

        Raises NotFound outside scope (or missing), Conflict while it is not finished.
        """
        ...

    async def prune(self, status: Status, finished_before: float, limit: int) -> int:
        """Delete at most ``limit`` of the oldest tasks of the terminal ``status`` that
        finished before ``finished_before`` (Unix seconds), in one short transaction;
        returns how many went. Across organisations (an administrative operation).

        One pruner at a time: where several processes share a database (PostgreSQL), a
        call returns 0 at once while another process's prune is in progress.
        """
        ...

    async def count_finished(self, status: Status, finished_before: float) -> int:
        """How many tasks of the terminal ``status`` finished before ``finished_before``
        (what :meth:`prune` would delete without a limit)."""
        ...


class IdentityStore(Protocol):
    """Organisations, users and their credentials: API keys, OAuth clients, grants with
    their refresh tokens, and the server's own secrets (the token signing key).

    Secrets arrive already hashed; a store never sees a plaintext credential. Methods that
    change several rows (disabling a user, revoking a client, rotating a refresh token) are
    atomic, so a concurrent sign-in sees either all of the change or none of it.
    """

    async def create_organisation(self, org: Organisation) -> Organisation:
        """Insert; Conflict if the name is taken."""
        ...

    async def get_organisation(self, org_id: str) -> Organisation | None: ...

    async def find_organisation(self, name: str) -> Organisation | None: ...

    async def create_user(self, user: User) -> User:
        """Insert; Conflict if the e-mail is taken (e-mails are unique across organisations,
        because the password grant names a user by e-mail alone)."""
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def find_user(self, email: str) -> User | None: ...

    async def set_password(self, user_id: str, password_hash: str | None) -> bool:
        """Replace a user's password hash; False if there is no such user."""
        ...

    async def disable_user(self, user_id: str) -> bool:
        """Disable the user, revoke their API keys, their grants and any OAuth client acting
        as them; False if there is no enabled user ``user_id``."""
        ...

    async def list_organisations(self) -> list[Organisation]:
        """Every organisation, oldest first (``tasktrack org list``)."""
        ...

    async def list_users(self, org_id: str | None = None) -> list[User]:
        """The users of ``org_id`` (None: all), oldest first; a password hash is read as
        "" (the user has a password) or None, never the hash itself."""
        ...

    async def list_api_keys(self, org_id: str | None = None) -> list[ApiKey]:
        """The API keys of ``org_id`` (None: all), oldest first, without secret hashes."""
        ...

    async def list_oauth_clients(self, org_id: str | None = None) -> list[OAuthClient]:
        """The OAuth clients of ``org_id`` (None: all), oldest first, without secret hashes."""
        ...

    async def create_api_key(self, key: ApiKey) -> ApiKey: ...

    async def get_api_key(self, key_id: str) -> ApiKey | None: ...

    async def revoke_api_key(self, key_id: str) -> bool: ...

    async def create_oauth_client(self, client: OAuthClient, service_user: User) -> OAuthClient:
        """Insert the client together with its service user (``client.user_id``)."""
        ...

    async def get_oauth_client(self, client_id: str) -> OAuthClient | None: ...

    async def revoke_oauth_client(self, client_id: str) -> bool:
        """Revoke the client, disable its service user and revoke every grant issued to it or
        to its service user; False if there is no active client ``client_id``."""
        ...

    async def create_grant(self, grant: Grant, first: RefreshToken) -> Grant:
        """Insert a grant together with its first refresh token."""
        ...

    async def active_grant(self, grant_id: str) -> Grant | None:
        """The grant if it is not revoked and its user is not disabled, else None.

        Called on every bearer-authenticated request: one primary-key read.
        """
        ...

    async def revoke_grant(self, grant_id: str) -> bool:
        """Revoke a grant (and so all its tokens); False if it was unknown or revoked."""
        ...

    async def identity_epoch(self) -> tuple[int, int] | None:
        """A value that changes whenever a change that can end a credential (a key, grant or
        client revoked, a user disabled) has committed, in this process or any other; None
        while that cannot be told (PostgreSQL's listener down). Services cache verified
        credentials under it (docs/fast-reads.md). Must cost microseconds."""
        ...

    async def get_refresh_token(self, token_id: str) -> RefreshToken | None: ...

    async def rotate_refresh_token(self, token_id: str, successor: RefreshToken) -> bool:
        """Mark ``token_id`` used and insert ``successor``, atomically, if ``token_id`` is still
        unused and unexpired at ``successor.created_at``; False (and no change) otherwise."""
        ...

    async def server_secret(self, name: str, candidate: str) -> str:
        """The secret stored under ``name``, storing ``candidate`` first if there is none.

        Several processes racing on a new database all end up with the same value.
        """
        ...

    async def put_server_secrets(self, values: Mapping[str, str]) -> None:
        """Set (insert or replace) the secrets ``values`` names, atomically."""
        ...


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What a probe of the database found: its schema version, and the one this code wants."""

    found: int
    expected: int

    @property
    def current(self) -> bool:
        return self.found == self.expected


class Stores(Protocol):
    """One database's stores, opened together and closed together."""

    @property
    def tasks(self) -> TaskStore: ...

    @property
    def identity(self) -> IdentityStore: ...

    @property
    def workers(self) -> WorkerStore: ...

    @property
    def stats(self) -> StatsStore: ...

    async def probe(self) -> SchemaState:
        """Read the schema version from the database itself (for readiness checks): a real
        round trip, raising :class:`~tasktrack.errors.StorageError` when it cannot be read."""
        ...

    async def close(self) -> None: ...
