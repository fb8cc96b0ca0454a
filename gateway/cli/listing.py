"""`audio-gateway models` and `audio-gateway voices`: what a server offers."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.cli.errors import CliError, server_message


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    models = sub.add_parser(
        "models",
        parents=[common],
        help="list served model ids and which models are loaded",
        description="The model ids the server answers to (GET /v1/models) and the state of each model behind "
        "them (GET /health/ready).",
    )
    models.add_argument("--json", action="store_true", help="print JSON instead of tables")
    models.set_defaults(func=run_models, connects=True)
    voices = sub.add_parser(
        "voices", parents=[common], help="list speech voices", description="The voices speech requests may name."
    )
    voices.add_argument("--model", help="the voices of this speech model")
    voices.add_argument("--json", action="store_true", help="print JSON instead of a table")
    voices.set_defaults(func=run_voices, connects=True)


def run_models(args: argparse.Namespace, conn: Any) -> int:
    ids = [model.id for model in conn.client.models.list()]
    response = conn.get_json(f"{conn.root_url}/health/ready")
    if response.status_code not in (200, 503):  # 503 still carries the states: a model failed to load
        raise CliError(f"GET /health/ready: server answered {response.status_code}: {response.text.strip()[:200]}")
    ready = response.json()
    if args.json:
        print(json.dumps({"models": ids, "ready": ready}, indent=2))
        return 0
    workers: dict[str, dict[str, Any]] = ready.get("models", {})
    rows = [
        [
            model_id,
            workers[model_id].get("kind", "") if model_id in workers else "alias",
            _loaded(workers[model_id]) if model_id in workers else "",
        ]
        for model_id in ids
    ]
    print(_table(["MODEL", "KIND", "LOADED"], rows))
    unserved = [name for name in workers if name not in ids]
    for name in unserved:
        print(f"{name}: {workers[name].get('kind', '')}, {_loaded(workers[name])} (not served under its own id)")
    print(f"\nserver: {ready.get('status', 'unknown')}")
    return 0 if ready.get("status") == "ready" else 1


def run_voices(args: argparse.Namespace, conn: Any) -> int:
    import openai

    query = {"model": args.model} if args.model else None
    try:
        listing = conn.client.get("/audio/voices", cast_to=object, options={"params": query} if query else {})
    except openai.NotFoundError as exc:
        if args.model:
            raise
        raise CliError(f"this server lists no voices (GET /v1/audio/voices: {server_message(exc)})") from exc
    voices = listing.get("data", []) if isinstance(listing, dict) else []
    if args.json:
        print(json.dumps(voices, indent=2))
        return 0
    columns = [c for c in ("id", "type", "language", "piper_voice", "name") if any(v.get(c) for v in voices)]
    if "name" in columns and all(v.get("name") == v.get("id") for v in voices):
        columns.remove("name")
    rows = [[str(v.get(c) or "") for c in columns] for v in voices]
    print(_table([c.upper().replace("_", " ") for c in columns], rows))
    return 0


def _loaded(state: dict[str, Any]) -> str:
    if state.get("error"):
        return f"failed: {state['error']}"
    return "yes" if state.get("loaded") else "no (loads on first use)"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)

