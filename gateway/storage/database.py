"""The database behind the voice store: engine, connection settings and migrations.

SQLite (a file in the data directory) by default, PostgreSQL by URL (psycopg 3). The engine is
synchronous and used from worker threads: Alembic is synchronous anyway, SQLite has no real
async driver, and the store's calls are short (small rows, blobs of at most 10 MiB).

Migrations run at start. Several replicas may start at once: on PostgreSQL the upgrade holds
a transaction-scoped advisory lock, so one replica migrates while the others wait and then
find nothing to do; on SQLite (replicas necessarily share one host) an exclusive file lock
next to the database does the same.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x6167_7677  # "agvw": pg_advisory_xact_lock key of the migration
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url(url: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL: `url` with the psycopg 3 driver for PostgreSQL, or the default SQLite file."""
    if not url:
        return f"sqlite:///{(data_dir / 'gateway.db').resolve()}"
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def create_database_engine(
    url: str,
    *,
    pool_size: int = 5,
    connect_timeout_s: float = 10,
    pre_ping: bool = True,
    answer_timeout_s: float | None = None,
) -> Engine:
    """An engine with the per-dialect settings this store relies on.

    `pre_ping` (PostgreSQL) tests each connection as it leaves the pool: a restarted database
    costs a ping, not a failed request, but every checkout one more round trip.
    `answer_timeout_s` (PostgreSQL) bounds how long a statement may wait: the server cancels it
    (`statement_timeout`, e.g. stuck behind a lock) and the client drops a connection whose data
    goes unacknowledged (`tcp_user_timeout`, a network partition).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        _sqlite_transactions(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        pool_timeout=connect_timeout_s,
        connect_args={"connect_timeout": max(1, int(connect_timeout_s)), **_answer_timeout(answer_timeout_s)},
    )


def _answer_timeout(seconds: float | None) -> dict[str, Any]:
    if not seconds:
        return {}
    ms = max(1, int(seconds * 1000))
    return {"options": f"-c statement_timeout={ms}", "tcp_user_timeout": ms}


def _sqlite_transactions(engine: Engine) -> None:
    """Real transactions on SQLite: foreign keys on, WAL, and BEGIN IMMEDIATE for writers.

    pysqlite's own transaction handling defers BEGIN and never wraps DDL; SQLAlchemy's
    documented recipe takes it over. A connection marked `sqlite_write` begins IMMEDIATE,
    so concurrent writers queue on the busy timeout instead of failing at commit.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def migrate(engine: Engine, lock_dir: Path | None = None) -> str:
    """Bring the schema to the newest revision; safe when several processes do it at once."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _migration_lock(engine, lock_dir) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        connection.commit()
    return str(head)


@contextmanager
def _migration_lock(engine: Engine, lock_dir: Path | None) -> Iterator[Any]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            # Held until the commit that ends the migration; the schema change is transactional too.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            yield connection
        return
    lock_path = (lock_dir or Path(".")) / ".gateway-migrate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
