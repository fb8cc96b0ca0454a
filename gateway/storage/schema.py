"""The tables: recordings (audio blobs), consents and voices, each row owned by a tenant.

Changing anything here needs a new migration in `migrations/versions/` (the schema at start
is built by Alembic, never by `metadata.create_all`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Recording(Base):
    """An uploaded audio file, kept byte for byte (a consent recording or a voice sample)."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    duration: Mapped[float] = mapped_column(Float)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Consent(Base):
    """A verified consent: who said the approved phrase, in which language, and what was heard."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(35))  # as the caller gave it (BCP 47)
    phrase_language: Mapped[str] = mapped_column(String(8))  # the ISO-639-1 code the phrase was checked in
    heard: Mapped[str] = mapped_column(Text)
    phrase: Mapped[str] = mapped_column(Text)
    error_rate: Mapped[float] = mapped_column(Float)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="RESTRICT"))
    speaker_embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_consents_tenant_id", "tenant", "id"),)


class Voice(Base):
    """A custom voice: a sample of the consent's speaker and the Piper voice that speaks for it."""

    __tablename__ = "voices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    type: Mapped[str] = mapped_column(String(16))
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id", ondelete="RESTRICT"))
    sample_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="RESTRICT"))
    speaker_embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)  # sample vs consent speaker
    piper_voice: Mapped[str | None] = mapped_column(String(300), nullable=True)  # "model" or "model:speaker"
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)  # set by an operator, not by matching
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_voices_tenant_id", "tenant", "id"),
        Index("ix_voices_consent_id", "consent_id"),
    )


class RateBucket(Base):
    """One API key's token bucket, shared by every replica (`limits.rate_limit.scope: shared`).

    `tokens` as of `updated` (Unix seconds); `allowed` is the outcome of the last take, written by
    the same UPDATE that spent the token so that RETURNING can report it.
    """

    __tablename__ = "rate_buckets"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)
    allowed: Mapped[bool] = mapped_column(Boolean)


class ClientSecret(Base):
    """An ephemeral key (`ek_...`) for a browser's Realtime session, minted by an API key (its tenant).

    Only the key's sha256 is kept (`id`): a copy of the database lets nobody open sessions.
    `session` is the transcription session configuration (JSON) a session opened with it starts with.
    """

    __tablename__ = "realtime_client_secrets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    session: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_realtime_client_secrets_expires_at", "expires_at"),)
