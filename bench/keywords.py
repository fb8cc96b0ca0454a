"""What `keywords[]` does: rare names and product words spelled right, with and without them, and the cost.

Sentences full of names Whisper base has rarely seen are spoken by Piper (en_US-joe) and by
espeak-ng (en-us), transcribed by the gateway's Whisper worker (`base`, CPU) without keywords
and with the sentence's names as `keywords` (faster-whisper's `hotwords`), alternating the
two so that both see the same machine load. A name counts as right when it appears in the
transcript spelled exactly (case included). The keywords of *other* sentences are also given
to each sentence, to see whether keywords make Whisper write names that were not said.

    python -m bench keywords          # or: python -m bench.keywords
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import TYPE_CHECKING

from bench.report import table, write_section

if TYPE_CHECKING:
    import numpy as np

SENTENCES = [
    ("Please send the report to Siobhan Nkemelu before the Kubernetes review.", ["Siobhan", "Nkemelu", "Kubernetes"]),
    ("Our new product Zyphrix integrates with Quoravel and Vantrix dashboards.", ["Zyphrix", "Quoravel", "Vantrix"]),
    ("We deployed Grafana, Loki and Tempo on the Hetzner cluster.", ["Grafana", "Loki", "Tempo", "Hetzner"]),
    ("The drug Xarelto interacts with Brilinta and Eliquis.", ["Xarelto", "Brilinta", "Eliquis"]),
    ("Call Saoirse Ronan and Joaquin Phoenix about the premiere.", ["Saoirse", "Ronan", "Joaquin"]),
    ("Dr. Oyelaran-Whitcombe reviewed the Nuvaxovid trial in Tromsø.", ["Oyelaran-Whitcombe", "Nuvaxovid", "Tromsø"]),
    ("The Pydantic and Starlette upgrade broke our Alembic migrations.", ["Pydantic", "Starlette", "Alembic"]),
    (
        "Ask Anneliese Kowalczyk to book the flight to Reykjavík on Icelandair.",
        ["Anneliese", "Kowalczyk", "Reykjavík", "Icelandair"],
    ),
]
VOICES = ["piper", "espeak:en-us"]


def speak(text: str, voice: str) -> np.ndarray:
    from gateway.audio_io import decode_audio
    from samples.audio import espeak_speech, piper_speech

    kind, _, name = voice.partition(":")
    return decode_audio(piper_speech(text) if kind == "piper" else espeak_speech(text, voice=name))


def right(text: str, names: list[str]) -> int:
    return sum(name in text for name in names)


def main(argv: list[str]) -> None:
    from gateway.settings import Settings
    from models.compute import CpuBudget
    from models.options import TranscribeOptions
    from models.whisper import WhisperSource, WhisperWorker

    worker = WhisperWorker("base", WhisperSource(embedded="whisper-base"), CpuBudget(), Settings.load().model_cache_dir)
    worker.load()
    counts = {"without": 0, "with": 0, "other": 0}
    times: dict[str, list[float]] = {"without": [], "with": []}
    total, examples = 0, list[tuple[str, str]]()
    for voice in VOICES:
        for index, (text, names) in enumerate(SENTENCES):
            audio = speak(text, voice)
            others = tuple(n for j, (_, ns) in enumerate(SENTENCES) if j != index for n in ns)[:20]
            results = {}
            for mode, keywords in (("without", ()), ("with", tuple(names)), ("other", others)):
                start = time.perf_counter()
                transcript = worker.transcribe(audio, TranscribeOptions(keywords=keywords))
                if mode in times:
                    times[mode].append((time.perf_counter() - start) / transcript.duration)
                results[mode] = transcript.text
            counts["without"] += right(results["without"], names)
            counts["with"] += right(results["with"], names)
            counts["other"] += right(results["other"], names)  # still the said names
            inserted = [n for n in others if n in results["other"]]
            counts.setdefault("inserted", 0)
            counts["inserted"] += len(inserted)
            total += len(names)
            print(f"{voice}: {results['without']!r}\n   -> {results['with']!r}", file=sys.stderr, flush=True)
            if voice == "piper" and len(examples) < 3:
                examples.append((results["without"].strip(), results["with"].strip()))
    rtf = {mode: statistics.median(values) for mode, values in times.items()}
    rows = [
        ["without keywords", f"{counts['without']} / {total}", f"{rtf['without']:.3f}"],
        ["with the sentence's names as `keywords`", f"{counts['with']} / {total}", f"{rtf['with']:.3f}"],
        [
            "with 20 names of *other* sentences as `keywords`",
            f"{counts['other']} / {total} (names not said but written: {counts['inserted']})",
            "",
        ],
    ]
    body = (
        "## `keywords[]`: rare names spelled right (Whisper base, CPU)\n\n"
        f"{len(SENTENCES)} sentences with {total // len(VOICES)} rare names and product words (people, drugs, "
        "software, places), spoken by Piper en_US-joe and espeak-ng en-us, transcribed in-process by the "
        "gateway's Whisper worker with and without the sentence's names as `keywords` (faster-whisper "
        "`hotwords`, put in the prompt of every 30 s window), alternating. A name counts when the transcript "
        "spells it exactly. Real-time factor: seconds of work per second of audio (median per request).\n\n"
        + table(["", "names spelled right", "real-time factor"], rows)
        + "\n\nExamples (Piper):\n\n"
        + "\n".join(f"- without: {a}\n  with: {b}" for a, b in examples)
        + "\n"
    )
    print(body)
    if "--no-write" not in argv:
        write_section("keywords", body)


if __name__ == "__main__":
    main(sys.argv[1:])
