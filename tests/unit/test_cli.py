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
