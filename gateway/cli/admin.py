"""Operator commands that work on the store directly (no server needed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.settings import DEFAULT_CONFIG, Settings


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


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pin = sub.add_parser("pin-voice", help="make a custom voice speak with a chosen Piper voice")
    pin.add_argument("voice_id", help="the custom voice, voice_...")
    pin.add_argument("piper_voice", help="an installed Piper voice: model or model:speaker")
    pin.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="YAML config file")
    pin.set_defaults(func=_pin_voice, connects=False)
