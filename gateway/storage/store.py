"""The voice store: consents, voices and their recordings, every row owned by one tenant.

Methods are synchronous and run in worker threads (`await store.run(store.method, ...)`),
a few at a time under the store's own limiter. A row of another tenant is treated exactly
like a missing one (NotFound), so tenants cannot even learn each other's ids exist.

Recordings live in the database as blobs: every replica that reaches the database reads the
same ones, with no second shared system to run, and a consent and its recording are written
and deleted in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import ServiceUnavailable
from gateway.storage import schema
from gateway.storage.database import create_database_engine, migrate, redacted
from gateway.threads import LazyLimiter
from models.errors import Conflict, DomainError, InvalidRequest, NotFound

log = logging.getLogger(__name__)
T = TypeVar("T")

_ID = re.compile(r"^(cons|voice|rec)_[0-9a-f]{32}$")


_last_id: tuple[int, int] = (0, 0)
_id_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """`prefix_` + 12 hex digits of milliseconds + 20 random: unique, and sortable by creation.

    Monotonic within a process (as ULID's monotonic mode): an id made in the same millisecond as
    the one before (or while the clock stepped back) is the one before plus 1, so two records
    created in one millisecond still list in the order they were made.
    """
    global _last_id
    with _id_lock:
        millis, serial = int(time.time() * 1000), secrets.randbits(80)
        if millis <= _last_id[0]:
            millis, serial = _last_id[0], _last_id[1] + 1
        _last_id = (millis, serial)
    return f"{prefix}_{millis:012x}{serial:020x}"


@dataclass(frozen=True)
class ConsentRecord:
    """A stored consent recording: who said which phrase, how well, and its speaker embedding once computed."""

    id: str
    tenant: str
    name: str
    language: str
    phrase_language: str
    heard: str
    phrase: str
    error_rate: float
    recording_id: str
    created_at: int
    speaker_embedding: bytes | None = None


@dataclass(frozen=True)
class VoiceRecord:
    """A stored custom voice: its consent, its sample, and the Piper voice that speaks it."""

    id: str
    tenant: str
    name: str
    type: str
    consent_id: str
    sample_id: str
    created_at: int
    similarity: float | None = None
    piper_voice: str | None = None
    pinned: bool = False
    speaker_embedding: bytes | None = None


@dataclass(frozen=True)
class ClientSecretRecord:
    """An ephemeral key as stored: its tenant, its session configuration (JSON) and when it expires (Unix s)."""

    tenant: str
    session: str
    created_at: int
    expires_at: int


@dataclass(frozen=True)
class NewRecording:
    """Audio to keep: the upload's bytes and its decoded length."""

    data: bytes
    duration: float


@dataclass(frozen=True)
class Page:
    """One page of a list, and whether more follow."""

    items: list[Any]
    has_more: bool


def _secret_id(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _consent(row: schema.Consent) -> ConsentRecord:
    return ConsentRecord(
        id=row.id,
        tenant=row.tenant,
        name=row.name,
        language=row.language,
        phrase_language=row.phrase_language,
        heard=row.heard,
        phrase=row.phrase,
        error_rate=row.error_rate,
        recording_id=row.recording_id,
        created_at=row.created_at,
        speaker_embedding=row.speaker_embedding,
    )


def _voice(row: schema.Voice) -> VoiceRecord:
    return VoiceRecord(
        id=row.id,
        tenant=row.tenant,
        name=row.name,
        type=row.type,
        consent_id=row.consent_id,
        sample_id=row.sample_id,
        created_at=row.created_at,
        similarity=row.similarity,
        piper_voice=row.piper_voice,
        pinned=row.pinned,
        speaker_embedding=row.speaker_embedding,
    )


class Store:
    """Consents, voices and recordings in one SQL database (see module doc)."""

    def __init__(self, url: str, *, data_dir: Path, pool_size: int = 5, connect_timeout_s: float = 10):
        self.url = url
        self.data_dir = data_dir
        self.engine = create_database_engine(url, pool_size=pool_size, connect_timeout_s=connect_timeout_s)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.engine.execution_options(sqlite_write=True), expire_on_commit=False)
        self._threads = LazyLimiter(pool_size)
        self.pool_size = pool_size
        self.connect_timeout_s = connect_timeout_s
        self.revision: str | None = None
        self.error: str | None = None

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    # --- lifecycle -------------------------------------------------------------------------

    def open(self) -> None:
        """Apply migrations (idempotent); the store is usable once this succeeded."""
        try:
            self.revision = migrate(self.engine, lock_dir=self.data_dir)
            self.error = None
            log.info("voice store ready: %s at revision %s", redacted(self.url), self.revision)
        except (OperationalError, DBAPIError) as exc:
            self.error = f"{type(exc.orig or exc).__name__}: {exc.orig or exc}"
            raise ServiceUnavailable(
                f"The voice store is unavailable: {self.error}", code="storage_unavailable"
            ) from exc

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        with self._session() as session:
            session.execute(text("SELECT 1"))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Call a store method in a worker thread; (re)open the store first if it is not ready."""

        def call() -> T:
            if self.revision is None:
                self.open()
            return fn(*args)

        return await self._threads.run(call)

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[Session]:
        factory = self._writer if write else self._reader
        try:
            with factory() as session, session.begin():
                yield session
        except DomainError:
            raise
        except DBAPIError as exc:
            if not isinstance(exc, (OperationalError, InterfaceError)) and not exc.connection_invalidated:
                raise  # a bug, not an outage: a 500
            log.error("voice store error: %s", exc)
            raise ServiceUnavailable(
                "The voice store is unavailable; retry shortly.", code="storage_unavailable"
            ) from exc

    # --- consents --------------------------------------------------------------------------

    def create_consent(
        self,
        tenant: str,
        *,
        name: str,
        language: str,
        phrase_language: str,
        heard: str,
        phrase: str,
        error_rate: float,
        recording: NewRecording,
    ) -> ConsentRecord:
        now = int(time.time())
        with self._session(write=True) as session:
            stored = self._add_recording(session, tenant, recording, now)
            row = schema.Consent(
                id=new_id("cons"),
                tenant=tenant,
                name=name,
                language=language,
                phrase_language=phrase_language,
                heard=heard,
                phrase=phrase,
                error_rate=error_rate,
                recording_id=stored.id,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _consent(row)

    def get_consent(self, tenant: str, consent_id: str) -> ConsentRecord:
        with self._session() as session:
            return _consent(self._consent_row(session, tenant, consent_id))

    def rename_consent(self, tenant: str, consent_id: str, name: str) -> ConsentRecord:
        with self._session(write=True) as session:
            row = self._consent_row(session, tenant, consent_id)
            row.name = name
            session.flush()
            return _consent(row)

    def delete_consent(self, tenant: str, consent_id: str) -> None:
        """Delete a consent and its recording; refused (Conflict) while voices depend on it."""
        with self._session(write=True) as session:
            row = self._consent_row(session, tenant, consent_id, lock=True)
            backing = session.scalars(
                select(schema.Voice.id).where(schema.Voice.consent_id == row.id).order_by(schema.Voice.id)
            ).all()
            if backing:
                raise Conflict(
                    f"Consent '{consent_id}' backs {len(backing)} voice(s) ({', '.join(backing)}); "
                    "delete those voices first.",
                    param="consent_id",
                    code="consent_in_use",
                )
            recording_id = row.recording_id
            session.delete(row)
            session.flush()
            session.execute(delete(schema.Recording).where(schema.Recording.id == recording_id))

    def list_consents(self, tenant: str, *, after: str | None, limit: int) -> Page:
        """Newest first; `after` is the id of the last item of the previous page."""
        query = select(schema.Consent).where(schema.Consent.tenant == tenant)
        if after is not None:
            if not after.startswith("cons_") or not _ID.match(after):
                raise InvalidRequest(f"Invalid value for 'after': '{after}' is not a consent id.", param="after")
            query = query.where(schema.Consent.id < after)
        query = query.order_by(schema.Consent.id.desc()).limit(limit + 1)
        with self._session() as session:
            rows = session.scalars(query).all()
            return Page(items=[_consent(r) for r in rows[:limit]], has_more=len(rows) > limit)

    def recording(self, tenant: str, recording_id: str) -> bytes:
        with self._session() as session:
            row = session.get(schema.Recording, recording_id)
            if row is None or row.tenant != tenant:
                raise NotFound(f"No recording found with id '{recording_id}'.", code="recording_not_found")
            return row.data

    def set_consent_embedding(self, tenant: str, consent_id: str, embedding: bytes) -> None:
        with self._session(write=True) as session:
            self._consent_row(session, tenant, consent_id).speaker_embedding = embedding

    # --- voices ----------------------------------------------------------------------------

    def create_voice(
        self,
        tenant: str,
        *,
        name: str,
        consent_id: str,
        sample: NewRecording,
        max_voices: int,
        similarity: float | None = None,
        speaker_embedding: bytes | None = None,
        piper_voice: str | None = None,
    ) -> VoiceRecord:
        now = int(time.time())
        with self._session(write=True) as session:
            if self.backend == "postgresql":  # serialise this tenant's creations: the limit holds across replicas
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"voices:{tenant}"})
            consent = self._consent_row(session, tenant, consent_id, lock=True, param="consent")
            count = session.scalar(select(func.count()).select_from(schema.Voice).where(schema.Voice.tenant == tenant))
            if count is not None and count >= max_voices:
                raise InvalidRequest(
                    f"You already have {count} custom voices, the maximum is {max_voices}; delete one first.",
                    param=None,
                    code="voice_limit_exceeded",
                )
            stored = self._add_recording(session, tenant, sample, now)
            row = schema.Voice(
                id=new_id("voice"),
                tenant=tenant,
                name=name,
                type="audio_sample",
                consent_id=consent.id,
                sample_id=stored.id,
                speaker_embedding=speaker_embedding,
                similarity=similarity,
                piper_voice=piper_voice,
                pinned=False,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _voice(row)

    def count_voices(self, tenant: str) -> int:
        with self._session() as session:
            query = select(func.count()).select_from(schema.Voice).where(schema.Voice.tenant == tenant)
            return int(session.scalar(query) or 0)

    def get_voice(self, tenant: str, voice_id: str) -> VoiceRecord:
        with self._session() as session:
            return _voice(self._voice_row(session, tenant, voice_id))

    def list_voices(self, tenant: str) -> list[VoiceRecord]:
        with self._session() as session:
            rows = session.scalars(
                select(schema.Voice).where(schema.Voice.tenant == tenant).order_by(schema.Voice.id.desc())
            ).all()
            return [_voice(r) for r in rows]

    def delete_voice(self, tenant: str, voice_id: str) -> None:
        """Delete a voice and its sample (never its consent)."""
        with self._session(write=True) as session:
            row = self._voice_row(session, tenant, voice_id)
            sample_id = row.sample_id
            session.delete(row)
            session.flush()
            session.execute(delete(schema.Recording).where(schema.Recording.id == sample_id))

    def pin_voice(self, voice_id: str, piper_voice: str) -> VoiceRecord:
        """Make a voice speak with a chosen Piper voice, whoever owns it (an operator's decision)."""
        with self._session(write=True) as session:
            row = session.get(schema.Voice, voice_id)
            if row is None:
                raise NotFound(f"No voice found with id '{voice_id}'.", param="voice_id", code="voice_not_found")
            row.piper_voice, row.pinned = piper_voice, True
            session.flush()
            return _voice(row)

    # --- realtime client secrets -------------------------------------------------------------

    def create_client_secret(self, tenant: str, value: str, session: str, expires_at: int) -> ClientSecretRecord:
        """Keep an ephemeral key (by its sha256); keys expired for a day are deleted on the way."""
        now = int(time.time())
        row = schema.ClientSecret(
            id=_secret_id(value), tenant=tenant, session=session, created_at=now, expires_at=expires_at
        )
        with self._session(write=True) as session_:
            session_.execute(delete(schema.ClientSecret).where(schema.ClientSecret.expires_at < now - 86_400))
            session_.add(row)
            session_.flush()
        return ClientSecretRecord(tenant=tenant, session=session, created_at=now, expires_at=expires_at)

    def client_secret(self, value: str) -> ClientSecretRecord | None:
        """The ephemeral key `value` (expired or not), or None if it was never made here."""
        with self._session() as session:
            row = session.get(schema.ClientSecret, _secret_id(value))
            if row is None:
                return None
            return ClientSecretRecord(
                tenant=row.tenant, session=row.session, created_at=row.created_at, expires_at=row.expires_at
            )

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _add_recording(session: Session, tenant: str, recording: NewRecording, now: int) -> schema.Recording:
        row = schema.Recording(
            id=new_id("rec"),
            tenant=tenant,
            size=len(recording.data),
            sha256=hashlib.sha256(recording.data).hexdigest(),
            duration=recording.duration,
            data=recording.data,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return row

    @staticmethod
    def _consent_row(
        session: Session, tenant: str, consent_id: str, *, lock: bool = False, param: str = "consent_id"
    ) -> schema.Consent:
        query = select(schema.Consent).where(schema.Consent.id == consent_id, schema.Consent.tenant == tenant)
        if lock:
            query = query.with_for_update()  # PostgreSQL: a voice cannot be added while its consent is deleted
        row = session.scalars(query).one_or_none()
        if row is None:
            raise NotFound(f"No voice consent found with id '{consent_id}'.", param=param, code="consent_not_found")
        return row

    @staticmethod
    def _voice_row(session: Session, tenant: str, voice_id: str) -> schema.Voice:
        row = session.scalars(
            select(schema.Voice).where(schema.Voice.id == voice_id, schema.Voice.tenant == tenant)
        ).one_or_none()
        if row is None:
            raise NotFound(f"No voice found with id '{voice_id}'.", param="voice_id", code="voice_not_found")
        return row
