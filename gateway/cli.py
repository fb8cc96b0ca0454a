"""The `audio-gateway` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from gateway.settings import DEFAULT_CONFIG, Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.app import create_app

    overrides = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = Settings.load(args.config, **overrides)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
    )
    return 0


def _pin_voice(args: argparse.Namespace) -> int:
    """Make a custom voice speak with a chosen Piper voice (e.g. one fine-tuned for its owner)."""
    from gateway.errors import ServiceUnavailable
    from gateway.storage import build_store
    from models.errors import NotFound

    store = build_store(Settings.load(args.config))
    try:
        store.open()
        record = store.pin_voice(args.voice_id, args.piper_voice)
    except (NotFound, ServiceUnavailable) as exc:
        print(f"audio-gateway: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"{record.id} ({record.name}) is now spoken by {record.piper_voice}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audio-gateway", description="OpenAI-compatible speech server.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to bind (default from config: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default from config: 8000)")
    serve.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="YAML config file")
    serve.set_defaults(func=_serve)
    pin = sub.add_parser("pin-voice", help="make a custom voice speak with a chosen Piper voice")
    pin.add_argument("voice_id", help="the custom voice, voice_...")
    pin.add_argument("piper_voice", help="an installed Piper voice: model or model:speaker")
    pin.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="YAML config file")
    pin.set_defaults(func=_pin_voice)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FileNotFoundError as exc:
        print(f"audio-gateway: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        print(f"audio-gateway: invalid configuration: {problems}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
