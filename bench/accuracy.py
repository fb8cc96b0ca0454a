"""What the transcription path hears: held-out WER and the real recording, against a baseline revision.

Held-out speech: 30 Harvard sentences (IEEE 1969 lists 1-3, public domain; never used to tune
anything here) spoken by the embedded Piper voice and by espeak-ng, ten to a recording with
pauses, clean and with white noise at 15 dB SNR. Real speech: pyannote.audio's 30 s telephone
recording, scored against its RTTM: first segment start, the share of segment time inside
labelled speech (0.5 s collar), segments ending past the audio, repeated sentences; and the same
recording behind 20 s of silence. Non-speech: segments returned for 8 s of silence and of noise.

Each figure is measured twice in one run: with this tree's Whisper worker, and with the worker of
a baseline revision (`--baseline REV`, any git revision), checked out into a
temporary worktree and run in a process of its own on the same audio and model files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from models.types import Segment

Figures = dict[str, dict[str, Any]]  # model -> recording -> figure(s)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "pyannote_sample"
MODELS = {"tiny.en": "whisper-tiny.en", "base": "whisper-base"}

HARVARD = [
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.", "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.", "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.", "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.", "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.", "Read verse out loud for pleasure.",
]  # fmt: skip


def _recordings(cache: Path) -> list[tuple[str, np.ndarray, str]]:
    """(name, float32 mono 16 kHz samples, reference text or "" for none).

    Made once per run and kept in `cache`, so that both trees hear the same samples (Piper's
    voice varies from one synthesis to the next).
    """
    import numpy as np

    kept = cache / "held_out.npz"
    if kept.exists():
        with np.load(kept) as data:
            labels = json.loads(str(data["labels"]))
            return [(label, data[f"a{i}"], reference) for i, (label, reference) in enumerate(labels)]
    made = _synthesised()
    labels_json = json.dumps([(label, reference) for label, _, reference in made])
    arrays: dict[str, Any] = {f"a{i}": samples for i, (_, samples, _) in enumerate(made)}
    np.savez(kept, labels=np.array(labels_json), **arrays)
    return made


def _synthesised() -> list[tuple[str, np.ndarray, str]]:
    import numpy as np

    from samples.audio import espeak_samples, piper_speech, read_audio

    rate = 16000
    rng = np.random.default_rng(0)
    pause = np.zeros(int(0.7 * rate), np.float32)
    out = []
    for voice in ("piper", "espeak"):
        for part in range(3):
            sentences = HARVARD[part * 10 : (part + 1) * 10]
            clips = []
            for sentence in sentences:
                if voice == "piper":
                    clips.append(read_audio(piper_speech(sentence)))
                else:
                    samples, sr = espeak_samples(sentence)
                    clips.append(read_audio(_wav(samples, sr)))
                clips.append(pause)
            clean = np.concatenate(clips)
            out.append((f"{voice} {part + 1}", clean, " ".join(sentences)))
            noise = rng.normal(0, 1, len(clean)).astype(np.float32)
            noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (15 / 10))
            out.append((f"{voice} {part + 1} + noise 15 dB", clean + noise, " ".join(sentences)))
    return out


def _wav(samples: np.ndarray, rate: int) -> bytes:
    from samples.audio import encode

    return encode(samples, "wav", rate=rate)


def _real_cases() -> dict[str, tuple[np.ndarray, float | None]]:
    import numpy as np

    from samples.audio import read_audio

    sample = read_audio(SAMPLE / "sample.wav")
    rng = np.random.default_rng(1)
    return {
        "sample": (sample, 0.0),
        "sample after 20 s of silence": (np.concatenate([np.zeros(20 * 16000, np.float32), sample]), 20.0),
        "8 s silence": (np.zeros(8 * 16000, np.float32), None),
        "8 s white noise": (rng.normal(0, 0.02, 8 * 16000).astype(np.float32), None),
    }


def _turns(shift: float) -> list[tuple[float, float]]:
    turns = []
    for line in (SAMPLE / "sample.rttm").read_text().splitlines():
        fields = line.split()
        turns.append((float(fields[3]) + shift, float(fields[3]) + float(fields[4]) + shift))
    return turns


def _in_speech(segments: Sequence[Segment], turns: list[tuple[float, float]], collar: float = 0.5) -> float:
    total = sum(s.end - s.start for s in segments)
    if not total:
        return 1.0
    inside = 0.0
    for s in segments:
        covered = sorted((max(s.start, a - collar), min(s.end, b + collar)) for a, b in turns)
        end = s.start
        for a, b in covered:
            a = max(a, end)
            if b > a:
                inside += b - a
                end = b
    return inside / total


def measure(models: list[str], cache: Path) -> Figures:
    """Every figure for every model with the `models` package on sys.path (this tree or a baseline)."""
    from models.compute import CpuBudget
    from models.options import TranscribeOptions
    from models.whisper import WhisperSource, WhisperWorker
    from samples.audio import word_error_rate

    recordings = _recordings(cache)
    real = _real_cases()
    results: Figures = {}
    for name in models:
        worker = WhisperWorker(name, WhisperSource(embedded=MODELS[name]), CpuBudget(), cache)
        worker.load()
        figures: dict[str, Any] = {}
        for label, samples, reference in recordings:
            figures[label] = word_error_rate(reference, worker.transcribe(samples, TranscribeOptions()).text)
        for label, (samples, shift) in real.items():
            transcript = worker.transcribe(samples, TranscribeOptions())
            segments = transcript.segments
            sentences = [s.text.strip().lower() for s in segments if len(s.text.split()) >= 3]
            figures[label] = {
                "segments": len(segments),
                "words": len(transcript.text.split()),
                "first": segments[0].start if segments else None,
                "in_speech": _in_speech(segments, _turns(shift)) if shift is not None else None,
                "past_end": sum(s.end > transcript.duration + 1e-6 for s in segments),
                "repeats": len(sentences) - len(set(sentences)),
            }
        results[name] = figures
    return results


def _baseline(revision: str, models: list[str], cache: Path) -> Figures:
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), revision], check=True,
                       capture_output=True)  # fmt: skip
        try:
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--measure", *models, "--cache", str(cache)],
                check=True, capture_output=True, text=True, env={**_env(), "PYTHONPATH": str(tree)}, cwd=tree,
            )  # fmt: skip
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    figures: Figures = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _report(now: Figures, before: Figures, revision: str) -> str:
    from bench.report import table

    lines = [
        "## What we hear: held-out WER and the real recording",
        "",
        "Each figure twice in one run: *now* is this tree's Whisper worker, *before* the worker of revision "
        f"`{revision}` (the same audio and model files, in a process of its own). Held-out WER: 30 Harvard "
        "sentences (never used to tune anything), ten per recording with 0.7 s pauses, spoken by Piper `joe` "
        "and by espeak-ng, clean and with white noise at 15 dB SNR; lower is better. Real: pyannote.audio's 30 s "
        "telephone recording scored against its RTTM (speech starts at 6.69 s).",
        "",
    ]
    for model in now:
        rows = []
        for label, value in now[model].items():
            old = before.get(model, {}).get(label)
            if isinstance(value, float):
                rows.append([label, f"{old * 100:.1f}%" if old is not None else "", f"{value * 100:.1f}%"])
        mean_now = sum(v for v in now[model].values() if isinstance(v, float)) / max(1, len(rows))
        mean_old = [v for v in before.get(model, {}).values() if isinstance(v, float)]
        rows.append(["**mean**", f"**{sum(mean_old) / len(mean_old) * 100:.1f}%**" if mean_old else "",
                     f"**{mean_now * 100:.1f}%**"])  # fmt: skip
        lines += [f"### `{model}`: held-out WER", "", table(["recording", "before", "now"], rows), ""]
        real_rows = []
        for label, value in now[model].items():
            if isinstance(value, dict):
                old = before.get(model, {}).get(label, {})
                for key, title in (("segments", "segments"), ("words", "words"), ("first", "first segment start s"),
                                   ("in_speech", "segment time in speech (0.5 s collar)"),
                                   ("past_end", "segments ending past the audio"), ("repeats", "repeated sentences")):
                    if value.get(key) is None and old.get(key) is None:
                        continue
                    real_rows.append([label, title, _fmt(key, old.get(key)), _fmt(key, value.get(key))])
        lines += [f"### `{model}`: real recording and non-speech", "",
                  table(["recording", "figure", "before", "now"], real_rows), ""]  # fmt: skip
    return "\n".join(lines)


def _fmt(key: str, value: object) -> str:
    if value is None:
        return "-"
    if key == "in_speech":
        return f"{float(value) * 100:.0f}%"  # type: ignore[arg-type]
    if key == "first":
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    return str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--baseline", default="7db020a", help="git revision to compare with")
    args = parser.parse_args(argv)
    if args.measure is not None:  # a baseline's process: print its figures as JSON
        print(json.dumps(measure(args.measure, args.cache)))
        return
    from bench.report import write_section

    cache = Path(tempfile.mkdtemp(prefix="bench-accuracy-"))
    before = _baseline(args.baseline, args.models, cache)
    now = measure(args.models, cache)
    body = _report(now, before, args.baseline)
    print(body)
    write_section("accuracy", body)


if __name__ == "__main__":
    main()
