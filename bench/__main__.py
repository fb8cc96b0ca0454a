"""`make bench`: every benchmark in turn, each writing its section of docs/benchmarks.md."""

from __future__ import annotations

import importlib
import sys

SUITES = [
    "bench.calls",
    "bench.overhead",
    "bench.throughput",
    "bench.longform",
    "bench.realtime",
    "bench.accuracy",
    "bench.tts",
    "bench.mixed",
    "bench.diarization",
    "bench.keywords",
    "bench.ratelimit",
    "bench.replica_memory",
]


def main() -> None:
    only = sys.argv[1:]
    for name in SUITES:
        if only and name.rsplit(".", 1)[1] not in only:
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(name).main([])


if __name__ == "__main__":
    main()
