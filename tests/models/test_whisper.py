"""The Whisper worker on its own: asset checks, logprobs, refusals."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from models import assets
from models.compute import CpuBudget
from models.errors import Cancelled, InvalidRequest, ModelUnavailable
from models.options import TranscribeOptions
from models.whisper import PROMPT_TAIL_CHARS, WhisperSource, WhisperWorker, prompt_tail
from tests.helpers import read_audio

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    worker = WhisperWorker(
        "tiny.en", WhisperSource(embedded="whisper-tiny.en"), CpuBudget(), tmp_path_factory.mktemp("c")
    )
    worker.load()
    return worker


def test_base_parts_are_joined_once_and_verified(tmp_path):
    directory = assets.whisper_base_dir(tmp_path)
    joined = directory / "model.bin"
    assert assets.sha256_of(joined) == assets.WHISPER_BASE_JOINED_SHA256
    stamp = joined.stat().st_mtime_ns
    assert assets.whisper_base_dir(tmp_path) == directory
    assert joined.stat().st_mtime_ns == stamp  # not joined again


def test_corrupt_joined_model_is_rebuilt(tmp_path):
    directory = assets.whisper_base_dir(tmp_path)
    with open(directory / "model.bin", "r+b") as handle:
        handle.write(b"corrupt!")
    assets.whisper_base_dir(tmp_path)
    assert assets.sha256_of(directory / "model.bin") == assets.WHISPER_BASE_JOINED_SHA256


def test_corrupt_file_is_named(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"nope")
    with pytest.raises(ModelUnavailable, match="corrupt"):
        assets.verified(bad, "0" * 64)


def test_missing_model_directory_is_named(tmp_path):
    worker = WhisperWorker("big", WhisperSource(path=tmp_path / "absent"), CpuBudget(), tmp_path)
    with pytest.raises(ModelUnavailable, match="absent"):
        worker.load()


def test_operator_model_directory_loads(tmp_path, tiny):
    copy = tmp_path / "my-model"
    shutil.copytree(assets.whisper_tiny_en_dir(), copy)
    worker = WhisperWorker("mine", WhisperSource(path=copy), CpuBudget(), tmp_path)
    result = worker.transcribe(read_audio(FIXTURES / "en_weather.flac"), TranscribeOptions())
    assert "weather" in result.text.lower()


def test_logprobs_match_the_tokens(tiny):
    result = tiny.transcribe(read_audio(FIXTURES / "en_weather.flac"), TranscribeOptions(logprobs=True))
    text_tokens = [t for s in result.segments for t in s.tokens if t < 50257]
    assert len(result.logprobs) == len(text_tokens)
    assert "".join(lp.token for lp in result.logprobs).strip() == result.text


def test_english_only_model_refuses(tiny):
    with pytest.raises(InvalidRequest, match=r"tiny\.en") as caught:
        tiny.check_options(TranscribeOptions(task="translate"))
    assert caught.value.param == "model"
    with pytest.raises(InvalidRequest, match=r"tiny\.en") as caught:
        tiny.check_options(TranscribeOptions(language="de"))
    assert caught.value.param == "language"
    tiny.check_options(TranscribeOptions(language="en"))  # English is what it knows


def test_cancel_stops_between_segments(tmp_path):
    """Cancelled once its first segment is handed over, 74 s of speech stop long before their end.

    One window decoded at a time (max_batch=1), so what follows the cancel is not yet decoded.
    """
    worker = WhisperWorker("tiny.en", WhisperSource(embedded="whisper-tiny.en", max_batch=1), CpuBudget(), tmp_path)
    audio = read_audio(FIXTURES / "en_fox.flac")
    long = np.tile(np.concatenate([audio, np.zeros(16000, np.float32)]), 10)
    cancel = threading.Event()
    seen = []

    def first_then_cancel(segment):
        seen.append(segment)
        cancel.set()  # the client goes away once it has the first segment

    worker.load()
    with pytest.raises(Cancelled):
        worker.transcribe(long, TranscribeOptions(), on_segment=first_then_cancel, cancel=cancel)
    assert worker.cancelled == 1
    assert seen[0].start < 3 and "lazy dog" in seen[0].text.lower(), "the first segment is the first copy's"
    assert seen[-1].end < len(long) / 16000 / 2, "decoding went on after the cancel"


def test_threads_of_decoding_and_encoding_calls(tmp_path):
    """Decoding calls run one thread each, side by side; the encoder runs every core, in its own instance."""
    budget = CpuBudget(cores=2)
    worker = WhisperWorker("tiny.en", WhisperSource(embedded="whisper-tiny.en"), budget, tmp_path)
    worker.load()
    inner = worker.model.model._inner
    assert worker.cpu_threads == 1 and inner.num_workers == 2  # two one-thread calls side by side
    encoder = worker.model.model._wide_encoder
    assert encoder is not inner and encoder.num_workers == 1 and budget.threads("whisper_encode") == 2
    text = worker.transcribe(read_audio(FIXTURES / "en_fox.flac"), TranscribeOptions()).text.lower()
    assert "quick brown fox" in text

    frugal = WhisperWorker(
        "tiny.en",
        WhisperSource(embedded="whisper-tiny.en"),
        CpuBudget(cores=2, threads={"whisper_encode": 1}),
        tmp_path,
    )
    frugal.load()
    assert frugal.model.model._wide_encoder is None  # no second instance
    assert frugal.footprint_estimate() < worker.footprint_estimate()


def test_a_long_prompt_is_cut_to_the_end_whisper_reads(tiny):
    """Whisper reads a prompt's last 223 tokens: the rest is never tokenized (issue 12: an 8 MB prompt)."""
    prompt = "weather report " * 100_000 + "The quick brown fox."
    tail = prompt_tail(prompt)
    assert tail is not None and len(tail) <= PROMPT_TAIL_CHARS and prompt.endswith(tail)
    assert tail.startswith("weather") or tail.startswith("report")  # from a word's start
    assert len(tiny.model.hf_tokenizer.encode(" " + tail).ids) > 223  # still more than Whisper reads
    assert prompt_tail("A fox.") == "A fox." and prompt_tail("") is None
    assert tiny.decode_kwargs(TranscribeOptions(), prompt)["initial_prompt"] == tail
