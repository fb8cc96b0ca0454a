"""GET / and /playground/*: the browser playground, static files shipped in the package.

The page calls the public API like any client (with the key the user types), so this
router serves files only. A strict Content-Security-Policy keeps the page to this origin.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from models.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
_HEADERS = {
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
}

router = APIRouter(include_in_schema=False)


def _file(relative: str) -> FileResponse:
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file() or path.suffix not in _TYPES:
        raise NotFound(f"No such file: /playground/{relative}")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=_HEADERS)


@router.get("/")
async def index() -> FileResponse:
    """The playground page."""
    return _file("index.html")


@router.get("/playground/{relative:path}")
async def static_file(relative: str) -> FileResponse:
    return _file(relative)
