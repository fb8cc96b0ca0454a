"""Mixed load: speech first byte while four clients transcribe, with latency classes off and on.

A voice agent and file transcription on one server (issue 17). For each configuration,
side by side in one run, `audio-gateway serve` (default config, Whisper `base` only) is
started and measured in three phases:

1. idle: speech requests one after another, first audio byte of each;
2. transcription alone: 4 OpenAI SDK clients send pyannote's 30 s recording to `whisper-1`
   `--requests` times each; throughput in audio seconds transcribed per second;
3. the same transcriptions while one voice agent speaks: it sends a ~100-character reply,
   streams it (`pcm`), and sends the next once the reply would have played (first byte +
   audio duration), until the transcriptions are done; first byte under load and throughput.

4. live turns idle: one Realtime transcription session (`base`, the model the files use)
   streams real speech in real time; delay from each turn's speech end to its `completed`;
5. the transcriptions of phase 2 while live sessions of a few turns follow one another:
   the same delay under load, and throughput.

The configurations: latency classes off (first come, first served: the baseline), on with
`interactive_overcommit: 0` (speech steps wait for the running Whisper steps, then go
first), on without a queue place beyond `max_parallel` for interactive requests
(`interactive_places: 0`: a live turn waits for a file to end when files hold every place),
and on with the defaults. /metrics gives how long compute steps of each class
waited for cores in phases 3 and 5 (bulk: the cost of being held back). Writes the `mixed`
section (speech) and the `mixed-live` section (live turns); `--live` runs phases 2, 4 and 5
only and writes `mixed-live` alone.

    python -m bench.mixed [--requests 5] [--idle 10] [--live] [--configs "classes on (default)" ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from bench.live_stream import Clip, clips, stream
from bench.report import table, write_section
from bench.server import GatewayProcess, recording
from bench.throughput import percentile

if TYPE_CHECKING:
    from openai import OpenAI

Waits = dict[str, tuple[float, list[tuple[float, float]], float]]  # class -> (count, buckets, sum)

REPLY = "Your order has shipped and should arrive on Thursday. Reply here if you want to change the address."
PCM_RATE = 24_000
CLIENTS = 4
LIVE_MODEL = "base"  # the server's one Whisper model: live turns share it (and its queue) with the files
LIVE_TURNS = 3  # turns per live session under load; sessions follow one another until the files are done
LIVE_READING = (
    "Reading the figures: unlike a speech reply, a live session is real work on the same model: every turn is "
    "decoded again each second while it is spoken (interim decodes, bulk class, skipped while the model has work "
    "waiting) and once more when it ends, so *kept* below 1 is partly that work, not only the files waiting. Each "
    "phase under load lasts as long as the files take: with few `--requests` there are few turns, and the alone "
    "phase is short enough for the machine's other load to move its throughput."
)
CONFIGS = {
    "classes off (baseline)": {"GATEWAY_COMPUTE__LATENCY__CLASSES": "false"},
    "classes on, no overcommit": {"GATEWAY_COMPUTE__LATENCY__INTERACTIVE_OVERCOMMIT": "0"},
    "classes on, no extra place": {"GATEWAY_COMPUTE__LATENCY__INTERACTIVE_PLACES": "0"},
    "classes on (default)": {},
}


@dataclass(frozen=True)
class Phase:
    speech_ttfb: list[float]  # seconds to the first audio byte of each speech request
    audio_per_s: float  # seconds of audio transcribed per second of the phase (0: no transcription)
    waits: dict[str, tuple[float, float, float]]  # class -> (steps, mean s, p95 s) of compute-step waits
    live_delays: tuple[float, ...] = ()  # live turns: seconds from the end of their speech to `completed`
    live_missing: int = 0  # live turns with no `completed` (or a failed one)


def speak(client: OpenAI) -> tuple[float, float]:
    """One reply: seconds to its first byte, seconds of audio."""
    start = time.perf_counter()
    first, size = None, 0
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=REPLY, response_format="pcm"
    ) as response:
        for chunk in response.iter_bytes():
            if chunk and first is None:
                first = time.perf_counter() - start
            size += len(chunk)
    return (first if first is not None else float("nan")), size / 2 / PCM_RATE


def waits(metrics_url: str) -> Waits:
    """Per class: count, cumulative buckets, sum of compute-step waits so far."""
    from prometheus_client.parser import text_string_to_metric_families

    out: Waits = {}
    for family in text_string_to_metric_families(httpx.get(metrics_url).text):
        if family.name != "gateway_compute_wait_seconds":
            continue
        for latency in ("interactive", "bulk"):
            samples = [s for s in family.samples if s.labels.get("latency") == latency]
            count = sum(s.value for s in samples if s.name.endswith("_count"))
            total = sum(s.value for s in samples if s.name.endswith("_sum"))
            buckets = [(float(s.labels["le"]), s.value) for s in samples if s.name.endswith("_bucket")]
            out[latency] = (count, sorted(buckets), total)
    return out


def wait_figures(before: Waits, after: Waits) -> dict[str, tuple[float, float, float]]:
    """Steps, mean wait and the 95th percentile's bucket bound, between two scrapes."""
    figures = {}
    for latency, (count, buckets, total) in after.items():
        c0, b0, t0 = before.get(latency, (0.0, [], 0.0))
        steps = count - c0
        earlier = dict(b0)
        p95 = float("nan")
        for bound, n in buckets:
            if steps and n - earlier.get(bound, 0.0) >= 0.95 * steps:
                p95 = bound
                break
        figures[latency] = (steps, (total - t0) / steps if steps else float("nan"), p95)
    return figures


def live_session(base_url: str, turns: list[Clip]) -> tuple[list[float], int]:
    """One Realtime transcription session streaming `turns` in real time: each turn's delay, turns missing."""
    run = asyncio.run(stream(base_url, LIVE_MODEL, turns))
    delays = [t.completed_after_end for t in run.turns if t.completed_after_end is not None and not t.failed]
    return delays, len(run.turns) - len(delays)


def phase(
    base_url: str, audio: bytes, seconds: float, requests: int, agent: str | None, idle: int = 0,
    turns: list[Clip] | None = None,
) -> Phase:  # fmt: skip
    """`agent`: None (transcriptions alone), "speech" (a voice agent) or "live" (live sessions of `turns`);
    `idle`: that many speech requests alone instead; `turns` without `agent`: one live session of them alone."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=900)
    metrics_url = base_url.removesuffix("/v1") + "/metrics"
    if idle:
        return Phase([speak(client)[0] for _ in range(idle)], 0.0, {})
    if turns and agent is None:
        delays, lost = live_session(base_url, turns)
        return Phase([], 0.0, {}, tuple(delays), lost)
    done = threading.Event()
    ttfb: list[float] = []
    live: list[float] = []
    missing = [0]

    def live_agent() -> None:
        assert turns
        session = 0
        while not done.is_set():
            picked = [turns[(session * LIVE_TURNS + j) % len(turns)] for j in range(LIVE_TURNS)]
            delays, lost = live_session(base_url, picked)
            live.extend(delays)
            missing[0] += lost
            session += 1

    def voice_agent() -> None:
        while not done.is_set():
            start = time.perf_counter()
            first, duration = speak(client)
            ttfb.append(first)
            done.wait(max(0.0, start + first + duration - time.perf_counter()))  # the reply plays

    def transcriber(_: int) -> None:
        for _ in range(requests):
            client.audio.transcriptions.create(model="whisper-1", file=("sample.wav", audio))

    before = waits(metrics_url)
    agent_thread = threading.Thread(target=live_agent if agent == "live" else voice_agent) if agent else None
    start = time.perf_counter()
    if agent_thread:
        agent_thread.start()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(transcriber, range(CLIENTS)))
    wall = time.perf_counter() - start
    done.set()
    if agent_thread:
        agent_thread.join()
    figures = wait_figures(before, waits(metrics_url))
    return Phase(ttfb, CLIENTS * requests * seconds / wall, figures, tuple(live), missing[0])


def measure(requests: int, idle: int, live_only: bool, configs: list[str]) -> dict[str, dict[str, Phase]]:
    audio, seconds = recording()
    turns = clips()
    results: dict[str, dict[str, Phase]] = {}
    for name in configs:
        env = CONFIGS[name]
        with GatewayProcess(env=env, models=["base"]) as gateway:
            from openai import OpenAI

            client = OpenAI(base_url=gateway.base_url, api_key="bench", max_retries=0, timeout=900)
            speak(client)  # warm up both models
            client.audio.transcriptions.create(model="whisper-1", file=("sample.wav", audio))
            url = gateway.base_url
            results[name] = {"alone": phase(url, audio, seconds, requests, agent=None)}
            if not live_only:
                results[name]["idle"] = phase(url, audio, seconds, requests, agent=None, idle=idle)
                results[name]["mixed"] = phase(url, audio, seconds, requests, agent="speech")
            results[name]["live idle"] = phase(url, audio, seconds, requests, agent=None, turns=turns)
            results[name]["live"] = phase(url, audio, seconds, requests, agent="live", turns=turns)
        print(name, {k: (v.speech_ttfb, v.audio_per_s, v.waits) for k, v in results[name].items()}, flush=True)
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def render_live(results: dict[str, dict[str, Phase]], requests: int, load: tuple[float, float]) -> str:
    """The `mixed-live` section: live turns idle and under the same transcription load."""
    rows, wait_rows = [], []
    for name, phases in results.items():
        quiet, alone, mixed = phases["live idle"], phases["alone"], phases["live"]
        med_idle, med_load = statistics.median(quiet.live_delays), statistics.median(mixed.live_delays)
        rows.append(
            [name, f"{med_idle:.2f}", f"{percentile(list(quiet.live_delays), 95):.2f}", f"{med_load:.2f}",
             f"{percentile(list(mixed.live_delays), 95):.2f}", f"{max(mixed.live_delays):.2f}",
             len(mixed.live_delays), quiet.live_missing + mixed.live_missing, f"{med_load / med_idle:.1f}x",
             f"{alone.audio_per_s:.2f}", f"{mixed.audio_per_s:.2f}", f"{mixed.audio_per_s / alone.audio_per_s:.2f}"]
        )  # fmt: skip
        for latency in ("interactive", "bulk"):
            steps, mean, p95 = mixed.waits.get(latency, (0, float("nan"), float("nan")))
            wait_rows.append([name, latency, f"{steps:.0f}", ms(mean), f"<= {ms(p95)}"])
    return (
        "## Mixed load: live turns while files are transcribed (latency classes)\n\n"
        "The same server and load as the speech section above (one server per configuration, Whisper `base` "
        f"only), with live transcription in place of the voice agent. *Idle*: one Realtime transcription session "
        f"(`base`, the model the files use, so the turns share its queue with them) streams {len(clips())} real "
        "turns in real time, as in the Live transcription section. *Under load*: "
        f"{CLIENTS} OpenAI SDK clients each send pyannote's 30 s recording to `whisper-1` {requests} times while "
        f"sessions of {LIVE_TURNS} turns follow one another until the transcriptions are done. The files hold all "
        "4 places of the model's queue (`max_parallel: 4`) for a whole file each: with `interactive_places: 0` a "
        "turn waits for one of them to end. *Delay*: from the "
        "end of a turn's speech to its `completed` event (the VAD's 500 ms of silence included). *Throughput* as "
        "above; *kept* = with live turns / alone. Issue 17 sets no target for live turns; the speech targets "
        f"(median <= 2.5x idle, kept >= 0.90) are the yardstick. Load average of the machine before / after: "
        f"{load[0]:.1f} / {load[1]:.1f} (shared with other work).\n\n"
        + table(
            ["configuration", "idle delay s (median)", "idle p95 s", "under load median s", "under load p95 s",
             "max s", "turns under load", "missing", "load / idle", "alone audio s/s", "with live audio s/s", "kept"],
            rows,
        )
        + "\n\nHow long compute steps waited for their cores while the live turns ran, per class "
        "(`gateway_compute_wait_seconds`; p95 as the histogram bucket that holds it).\n\n"
        + table(["configuration", "class", "steps", "mean wait ms", "p95 wait ms"], wait_rows)
        + "\n\n" + LIVE_READING
    )


def render(results: dict[str, dict[str, Phase]], requests: int, idle: int, load: tuple[float, float]) -> str:
    rows, wait_rows = [], []
    for name, phases in results.items():
        quiet, alone, mixed = phases["idle"].speech_ttfb, phases["alone"], phases["mixed"]
        under = mixed.speech_ttfb
        med_idle, med_load = statistics.median(quiet), statistics.median(under)
        kept = mixed.audio_per_s / alone.audio_per_s
        rows.append(
            [name, ms(med_idle), ms(percentile(quiet, 95)), ms(med_load), ms(percentile(under, 95)), len(under),
             f"{med_load / med_idle:.1f}x", f"{alone.audio_per_s:.2f}", f"{mixed.audio_per_s:.2f}", f"{kept:.2f}"]
        )
        for latency in ("interactive", "bulk"):
            steps, mean, p95 = mixed.waits.get(latency, (0, float("nan"), float("nan")))
            wait_rows.append([name, latency, f"{steps:.0f}", ms(mean), f"<= {ms(p95)}"])
    return (
        "## Mixed load: speech while files are transcribed (latency classes)\n\n"
        f"A voice agent and file transcription on one `audio-gateway serve` (default config, Whisper `base` only), "
        "one server per configuration, one after the other in the same run. *Idle*: "
        f"{idle} speech requests one after another. *Under load*: {CLIENTS} OpenAI SDK clients each send pyannote's "
        f"30 s recording to `whisper-1` {requests} times while one agent sends a {len(REPLY)}-character reply "
        "(`tts-1`, `pcm`, streamed), and the next once the reply would have played (first byte + its duration), "
        "until the transcriptions are done. *First byte*: from sending the request to the first audio byte. "
        "*Throughput*: seconds of audio transcribed per second, without the agent (*alone*) and with it "
        "(*mixed*); *kept* = mixed / alone. Targets: first byte under load median <= 500 ms and <= 2.5x idle; "
        "kept >= 0.90. Configurations: `compute.latency.classes: false` (first come, first served, as before "
        "the classes: the baseline); classes on with `interactive_overcommit: 0` (a speech step waits for the "
        "Whisper steps already running, then goes before the waiting ones); classes on with `interactive_places: 0` "
        "(an interactive request waits for a place in its model's queue; speech has its own queue, so this one "
        "matters for live turns below); classes on with the defaults (a speech step may also use 2 cores beyond "
        "the budget beside the running Whisper steps, and a live turn one place beyond the model's `max_parallel`). "
        f"Load average of the machine before / after: {load[0]:.1f} / {load[1]:.1f} (it is shared with other "
        "work: every figure may be larger than on a quiet machine, and its load changes during the run: compare "
        "throughput across configurations only through *kept*, which sets two phases of one server side by side).\n\n"
        + table(
            ["configuration", "idle first byte ms (median)", "idle p95 ms", "under load median ms", "under load p95 ms",
             "replies", "load / idle", "alone audio s/s", "mixed audio s/s", "kept"],
            rows,
        )
        + "\n\nHow long compute steps (one model call each) waited for their cores in the mixed phase, per class "
        "(from `gateway_compute_wait_seconds`; p95 as the histogram bucket that holds it). Bulk steps are never "
        "overtaken by more than `interactive_ahead` (4) interactive ones.\n\n"
        + table(["configuration", "class", "steps", "mean wait ms", "p95 wait ms"], wait_rows)
        + "\n\nWhat the gateway does with this: latency classes on, with `interactive_overcommit: 2`. A Whisper "
        "step is one model call on one window (about a second on an idle 2-core machine, several on a busy "
        "one) and is not interrupted, so a speech step that only goes first still waits for the steps "
        "already running; beside them, its short step (two Piper threads) shares the cores for a moment "
        "instead, and bulk steps wait for it to end before they take its cores again."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Mixed-load benchmark (speech under transcription load)")
    parser.add_argument("--requests", type=int, default=5, help="transcriptions per client and phase")
    parser.add_argument("--idle", type=int, default=10, help="speech requests on the idle server")
    parser.add_argument("--live", action="store_true", help="live turns only (writes the mixed-live section alone)")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS), help="configurations")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    results = measure(args.requests, args.idle, args.live, args.configs)
    load = (load_before, os.getloadavg()[0])
    if not args.live:
        body = render(results, args.requests, args.idle, load)
        print(body)
        write_section("mixed", body)
    body = render_live(results, args.requests, load)
    print(body)
    write_section("mixed-live", body)


if __name__ == "__main__":
    main()
