"""The voice store shared by the replicas through PostgreSQL: writes survive a dead replica,
and a database outage costs the voice endpoints only."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import threading

import httpx
import openai
import pytest

from tests.helpers import word_error_rate
from tests.system.conftest import Cluster, pid_gone, wait_until

PHRASE = "I am the owner of this voice and I consent to OpenAI using this voice to create a synthetic voice model."


def _sdk(base_url: str, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=retries, timeout=180)


@pytest.fixture(scope="module")
def recording(cluster: Cluster) -> bytes:
    """The consent phrase, spoken by the cluster's own speech endpoint."""
    cluster.start()
    speech = _sdk(cluster.base_url).audio.speech.create(
        model="tts-1", voice="alloy", input=PHRASE, response_format="flac"
    )
    return speech.content


def test_a_consent_written_through_one_replica_is_read_through_the_other(healthy: Cluster, recording: bytes):
    one, two = (_sdk(f"{healthy.replica_url(i)}/v1") for i in range(2))
    consent = one.audio.voice_consents.create(name="Alice", language="en-US", recording=("alice.flac", recording))
    assert consent.id.startswith("cons_")
    assert two.audio.voice_consents.retrieve(consent.id) == consent
    assert _sdk(healthy.base_url).audio.voice_consents.retrieve(consent.id) == consent
    renamed = two.audio.voice_consents.update(consent.id, name="Alice Smith")
    assert one.audio.voice_consents.retrieve(consent.id).name == renamed.name == "Alice Smith"
    assert consent.id in {c.id for c in _sdk(healthy.base_url).audio.voice_consents.list(limit=100)}


def test_sigkill_mid_writes_loses_no_acknowledged_consent(healthy: Cluster, recording: bytes):
    sdk = _sdk(healthy.base_url, retries=2)  # as users run the SDK: it retries what nginx may not
    acknowledged: list[str] = []
    failed: list[BaseException] = []

    def write(i: int) -> None:
        try:
            consent = sdk.audio.voice_consents.create(
                name=f"writer {i}", language="en", recording=("r.flac", recording)
            )
            acknowledged.append(consent.id)
        except openai.APIError as exc:
            failed.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: healthy.total("gateway_queue_running", model="tiny.en") > 0, 60, 0.02)
    pid = healthy.kill(0, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a write hung"
    assert acknowledged, failed
    assert all(isinstance(e, openai.APIStatusError) and e.status_code in (502, 503) for e in failed), failed
    # Every acknowledged write is there, through the surviving replica and through the balancer.
    survivor = _sdk(f"{healthy.replica_url(1)}/v1")
    for consent_id in acknowledged:
        assert survivor.audio.voice_consents.retrieve(consent_id).id == consent_id
        assert sdk.audio.voice_consents.retrieve(consent_id).id == consent_id
    assert wait_until(lambda: pid_gone(pid), 10)
    healthy.start()


def _postgres(cluster: Cluster, action: str) -> None:
    pg = cluster.state()["postgres"]
    bin_dir = next(p for p in sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin")))
    command = [f"{bin_dir}/pg_ctl", "-D", pg["data"], "-m", "fast", "-w", action]
    if os.geteuid() == 0:
        pwd.getpwnam("postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def test_database_outage_is_503_on_voice_endpoints_while_transcription_works(
    healthy: Cluster, recording: bytes, fixture_audio
):
    sdk = _sdk(healthy.base_url)
    consent = sdk.audio.voice_consents.create(name="Before", language="en", recording=("r.flac", recording))
    _postgres(healthy, "stop")
    try:
        with pytest.raises(openai.InternalServerError) as caught:
            sdk.audio.voice_consents.retrieve(consent.id)
        assert caught.value.status_code == 503
        assert caught.value.response.json()["error"]["code"] == "storage_unavailable"
        with pytest.raises(openai.InternalServerError):
            sdk.audio.voice_consents.create(name="During", language="en", recording=("r.flac", recording))
        # Transcription and speech do not need the database.
        for _ in range(2):
            text = sdk.audio.transcriptions.create(model="whisper-1", file=fixture_audio("en_weather.flac")).text
            assert "weather" in text.lower()
        said = "Speech is still served while the database is down."
        spoken = sdk.audio.speech.create(model="tts-1", voice="alloy", input=said, response_format="wav").content
        heard = sdk.audio.transcriptions.create(model="whisper-1", file=("spoken.wav", spoken)).text
        assert word_error_rate(said, heard) < 0.35, heard
        for index in range(2):  # the replicas stay in the pool
            assert httpx.get(f"{healthy.replica_url(index)}/health/ready").status_code == 200
    finally:
        healthy.start()  # brings PostgreSQL back
    assert wait_until(lambda: _retrievable(sdk, consent.id), timeout=30)


def _retrievable(sdk: openai.OpenAI, consent_id: str) -> bool:
    try:
        return sdk.audio.voice_consents.retrieve(consent_id).id == consent_id
    except openai.APIError:
        return False
