"""The playground's files: served at / from the package, self-contained, never outside /static."""

from __future__ import annotations

import re

import httpx

from gateway.app import create_app
from gateway.routers.playground import STATIC_DIR
from tests.conftest import make_settings


def test_page_and_assets(server):
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-request-id"]
    for path, kind in re.findall(r'(?:href|src)="(/playground/[^"]+\.(css|js))"', page.text):
        asset = httpx.get(f"{server.url}{path}")
        assert asset.status_code == 200, path
        assert asset.headers["content-type"].startswith({"css": "text/css", "js": "text/javascript"}[kind])
    for module in (STATIC_DIR / "js").glob("*.js"):
        assert httpx.get(f"{server.url}/playground/js/{module.name}").status_code == 200


def test_nothing_from_elsewhere():
    """No CDN, no fonts or scripts from the network: the page works offline."""
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in (".html", ".css", ".js"):
            text = path.read_text()
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path
            assert not re.search(r"""(import|url)\s*\(?\s*["'](https?:)?//""", text), path


def test_only_static_files_are_served(server):
    for path in ("/playground/../app.py", "/playground/%2e%2e/app.py", "/playground/js/missing.js", "/playground/"):
        response = httpx.get(f"{server.url}{path}")
        assert response.status_code == 404, path
        assert response.json()["error"]["type"] == "not_found_error"


async def test_the_playground_can_be_turned_off(tmp_path):
    app = create_app(make_settings(tmp_path, playground=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        assert (await client.get("/")).status_code == 404
        assert (await client.get("/playground/index.html")).status_code == 404
