"""Token buckets in the database every replica shares: one row per API key, spent atomically.

A take is one `UPDATE rate_buckets ... RETURNING` of the key's row: refill the bucket for the
time since it was last touched, spend a token if a whole one is there, and report what
happened, all in one statement. The database serialises updates of one row (PostgreSQL's row
lock re-evaluates the expressions on the newest version; SQLite has one writer at a time), so
N replicas taking from one key's bucket at once can never spend more tokens than it holds.
The first take of a key inserts its full bucket first (`ON CONFLICT DO NOTHING`: two replicas
may race to create it). Time is Unix seconds from the caller; a replica whose clock lags the
row's never refills it backwards (elapsed time is clamped at zero).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, Update, case, event, literal, update
from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import Float

from gateway.storage.database import create_database_engine
from gateway.storage.schema import RateBucket

_TABLE = cast(Table, RateBucket.__table__)  # a declarative class's table


@dataclass(frozen=True)
class Take:
    """Outcome of one take: whether a token was spent, and the tokens left (fractional)."""

    allowed: bool
    tokens: float


class SharedBuckets:
    """Per-key token buckets in the `rate_buckets` table (created by migration 0002).

    An engine of its own on the store's database, tuned for one short statement per request:
    no pre-ping on PostgreSQL (a connection the database dropped is retried once instead) and
    autocommit (the UPDATE is atomic by itself), and no statement waits longer than the connect
    timeout (a stuck lock or a partitioned network fails the take instead of holding the request);
    on SQLite `synchronous=NORMAL`, so that a take does not wait for fsync (WAL keeps the file
    consistent; a power cut may forget the last takes, which only refills buckets).
    """

    def __init__(self, url: str, *, pool_size: int = 5, connect_timeout_s: float = 10):
        engine = create_database_engine(
            url,
            pool_size=pool_size,
            connect_timeout_s=connect_timeout_s,
            pre_ping=False,
            answer_timeout_s=connect_timeout_s,
        )
        self._insert: Callable[[Table], SqliteInsert | PostgresqlInsert]
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_no_fsync)
            self._engine = engine.execution_options(sqlite_write=True)  # BEGIN IMMEDIATE
            self._insert = sqlite_insert
        else:
            self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
            self._insert = postgresql_insert
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    def take(self, tenant: str, *, rate: float, size: int, now: float) -> Take:
        """Refill `tenant`'s bucket (`rate` tokens per second, at most `size`) to `now`, spend one token.

        Blocking (run it in a worker thread); raises SQLAlchemy's errors when the database fails.
        """
        try:
            return self._take(tenant, rate, size, now)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            return self._take(tenant, rate, size, now)  # a pooled connection the server had closed: once more

    def _take(self, tenant: str, rate: float, size: int, now: float) -> Take:
        with self._engine.begin() as connection:
            row = connection.execute(self._spend(tenant, rate, size, now)).first()
            if row is None:  # the key's first request anywhere: create its full bucket, then spend
                fresh = {"tenant": tenant, "tokens": float(size), "updated": now, "allowed": True}
                create = self._insert(_TABLE).values(**fresh).on_conflict_do_nothing(index_elements=["tenant"])
                connection.execute(create)
                row = connection.execute(self._spend(tenant, rate, size, now)).one()
        return Take(allowed=bool(row.allowed), tokens=float(row.tokens))

    @staticmethod
    def _spend(tenant: str, rate: float, size: int, now: float) -> Update:
        now_ = literal(now, Float)
        elapsed = case((_TABLE.c.updated < now_, now_ - _TABLE.c.updated), else_=literal(0.0, Float))
        grown = _TABLE.c.tokens + elapsed * literal(rate, Float)
        refilled = case((grown > literal(float(size), Float), literal(float(size), Float)), else_=grown)
        has_token = refilled >= literal(1.0, Float)
        return (
            update(_TABLE)
            .where(_TABLE.c.tenant == tenant)
            .values(
                tokens=case((has_token, refilled - literal(1.0, Float)), else_=refilled),
                updated=case((_TABLE.c.updated < now_, now_), else_=_TABLE.c.updated),
                allowed=has_token,
            )
            .returning(_TABLE.c.tokens, _TABLE.c.allowed)
        )


def _sqlite_no_fsync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
