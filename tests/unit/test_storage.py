"""The voice store on SQLite and PostgreSQL: migrations under concurrency, tenancy, paging, outages."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect

from gateway.errors import ServiceUnavailable
from gateway.storage import NewRecording, Store, database_url
from gateway.storage.database import create_database_engine, migrate
from models.errors import Conflict, InvalidRequest, NotFound

AUDIO = NewRecording(data=b"RIFF....WAVE", duration=1.5)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return database_url(None, tmp_path)
    return database_url(request.getfixturevalue("postgres").new_database(), tmp_path)


def _consent(store: Store, tenant: str, name: str = "c") -> str:
    return store.create_consent(
        tenant,
        name=name,
        language="en-US",
        phrase_language="en",
        heard="h",
        phrase="p",
        error_rate=0.0,
        recording=AUDIO,
    ).id


def test_database_url():
    assert database_url(None, Path("/srv/data")) == "sqlite:////srv/data/gateway.db"
    assert database_url("postgresql://u:p@db/gw", Path(".")) == "postgresql+psycopg://u:p@db/gw"
    assert database_url("postgres://u@db/gw", Path(".")) == "postgresql+psycopg://u@db/gw"
    assert database_url("sqlite:////tmp/x.db", Path(".")) == "sqlite:////tmp/x.db"


def test_replicas_migrating_at_once(url: str, tmp_path: Path):
    """Four processes' worth of engines upgrade one empty database at the same moment."""
    engines = [create_database_engine(url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: list[object] = []

    def start(engine) -> None:
        barrier.wait()
        try:
            results.append(migrate(engine, lock_dir=tmp_path))
        except Exception as exc:  # pragma: no cover - the failure being tested for
            results.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == ["0003"] * 4
    tables = set(inspect(engines[0]).get_table_names())
    assert {"consents", "voices", "recordings", "rate_buckets", "alembic_version"} <= tables
    assert migrate(engines[0], lock_dir=tmp_path) == "0003"  # again: nothing to do
    for engine in engines:
        engine.dispose()


def test_tenancy_paging_and_deletion(url: str, tmp_path: Path):
    store = Store(url, data_dir=tmp_path)
    store.open()
    ids = [_consent(store, "a", f"c{i}") for i in range(5)]
    other = _consent(store, "b")
    pages, after = [], None
    while True:
        page = store.list_consents("a", after=after, limit=2)
        pages.append([c.id for c in page.items])
        if not page.has_more:
            break
        after = page.items[-1].id
    assert pages == [ids[::-1][0:2], ids[::-1][2:4], ids[::-1][4:5]]
    with pytest.raises(NotFound):
        store.get_consent("a", other)
    with pytest.raises(NotFound):
        store.delete_consent("a", other)
    with pytest.raises(InvalidRequest):
        store.list_consents("a", after="nonsense", limit=2)

    voice = store.create_voice("a", name="v", consent_id=ids[0], sample=AUDIO, max_voices=2)
    with pytest.raises(NotFound):
        store.create_voice("b", name="v", consent_id=ids[0], sample=AUDIO, max_voices=2)
    with pytest.raises(Conflict):
        store.delete_consent("a", ids[0])
    store.create_voice("a", name="w", consent_id=ids[1], sample=AUDIO, max_voices=2)
    with pytest.raises(InvalidRequest) as caught:
        store.create_voice("a", name="x", consent_id=ids[1], sample=AUDIO, max_voices=2)
    assert caught.value.code == "voice_limit_exceeded"
    assert [v.id for v in store.list_voices("b")] == []
    store.delete_voice("a", voice.id)
    store.delete_consent("a", ids[0])
    with store.engine.connect() as conn:  # the consent's recording and the voice's sample went with them
        count = conn.exec_driver_sql("SELECT count(*) FROM recordings").scalar_one()
    assert count == 5 - 1 + 1 + 1  # consents a(4 left) + b(1) + the remaining voice's sample
    store.close()


def test_open_failure_is_service_unavailable(tmp_path: Path):
    from tests.conftest import free_port

    store = Store(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none", data_dir=tmp_path, connect_timeout_s=1)
    with pytest.raises(ServiceUnavailable):
        store.open()
    assert store.error


def test_ids_made_in_one_millisecond_keep_their_order():
    """Two consents created in the same millisecond listed in random order (a CI failure)."""
    from gateway.storage.store import new_id

    ids = [new_id("cons") for _ in range(2000)]  # far more than one per millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
