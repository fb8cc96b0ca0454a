"""Alembic migrations of the voice store, applied at start by `gateway.storage.database.migrate`."""
