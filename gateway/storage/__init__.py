"""Consents, voices and their recordings: SQLite in the data directory, or PostgreSQL by URL."""

from __future__ import annotations

from gateway.storage.database import database_url
from gateway.storage.store import ClientSecretRecord, ConsentRecord, NewRecording, Page, Store, VoiceRecord

__all__ = ["ClientSecretRecord", "ConsentRecord", "NewRecording", "Page", "Store", "VoiceRecord", "build_store"]


def build_store(settings: object) -> Store:
    """The store the settings describe; nothing is connected until `Store.open`."""
    section = settings.storage  # type: ignore[attr-defined]
    return Store(
        database_url(section.url, settings.data_dir),  # type: ignore[attr-defined]
        data_dir=settings.data_dir,  # type: ignore[attr-defined]
        pool_size=section.pool_size,
        connect_timeout_s=section.connect_timeout_s,
    )
