import subprocess
import sys


def test_invalid_configuration_is_one_clear_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("compute:\n  slots: 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "audio-gateway: invalid configuration: compute.slots: Input should be greater than or equal to 1"
    ]


def test_missing_config_file():
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", "/nope.yaml"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "config file not found" in result.stderr


def test_pin_voice(tmp_path):
    from gateway.settings import Settings
    from gateway.storage import NewRecording, build_store

    config = tmp_path / "gateway.yaml"
    config.write_text(f"data_dir: {tmp_path}\n")
    store = build_store(Settings.load(config))
    store.open()
    audio = NewRecording(data=b"RIFF", duration=1.0)
    consent = store.create_consent(
        "t", name="c", language="en", phrase_language="en", heard="h", phrase="p", error_rate=0.0, recording=audio
    )
    voice = store.create_voice("t", name="v", consent_id=consent.id, sample=audio, max_voices=20, piper_voice="a")
    command = [sys.executable, "-m", "gateway", "pin-voice", "--config", str(config)]
    result = subprocess.run([*command, voice.id, "en_US-alice-medium"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pinned = store.get_voice("t", voice.id)
    assert pinned.piper_voice == "en_US-alice-medium" and pinned.pinned
    result = subprocess.run([*command, "voice_missing", "x"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "No voice found" in result.stderr
    store.close()
