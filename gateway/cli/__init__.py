"""The `audio-gateway` command: `serve`, and the client commands `transcribe`, `listen`, `speak`, `models`, `voices`.

The client commands talk to a running server with `--base-url` (and `--api-key` or
OPENAI_API_KEY), or, without `--base-url`, start the gateway in this process from `--config`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from gateway.cli import admin, listen, listing, speak, transcribe
from gateway.cli.connection import DEFAULT_TIMEOUT_S, Gateway
from gateway.cli.errors import CliError, translate
from gateway.settings import DEFAULT_CONFIG, Settings


def _serve(args: argparse.Namespace) -> int:
    from gateway.server import serve  # uvicorn, with draining on SIGTERM and the configured log format

    overrides = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    serve(Settings.load(args.config, **overrides))
    return 0


def _client_options() -> argparse.ArgumentParser:
    """The options every client command shares."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("server")
    group.add_argument(
        "--base-url",
        help="a running server, e.g. http://127.0.0.1:8000/v1 (without it, the gateway runs inside this "
        "command, from --config)",
    )
    group.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"), help="API key (default: OPENAI_API_KEY)")
    group.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="YAML config for the in-process gateway (no --base-url)"
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for an answer (default {DEFAULT_TIMEOUT_S:.0f})",
    )
    common.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars on stderr (default: when stderr is a terminal)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log the in-process gateway's work")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audio-gateway", description="OpenAI-compatible speech server.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to bind (default from config: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default from config: 8000)")
    serve.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="YAML config file")
    serve.set_defaults(func=_serve, connects=False)
    common = _client_options()
    transcribe.add_parser(sub, common)
    listen.add_parser(sub, common)
    speak.add_parser(sub, common)
    listing.add_parsers(sub, common)
    admin.add_parsers(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    status: int
    if not args.connects:
        status = args.func(args)
        return status
    with Gateway(args) as conn:
        status = args.func(args, conn)
        return status


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except FileNotFoundError as exc:
        print(f"audio-gateway: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        print(f"audio-gateway: invalid configuration: {problems}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`... | head`): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("audio-gateway: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        error = translate(exc)
        if error is None:
            raise
        print(f"audio-gateway: {error.message}", file=sys.stderr)
        return error.status


__all__ = ["CliError", "build_parser", "main"]
