"""The built web client is served by the API process, client-side routes included."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from mailmind.app import _mount_web, install_error_handlers
from tests.conftest import assert_error

INDEX = "<!doctype html><title>MailMind</title><div id=root></div>"


def _web_app(dist: Path) -> FastAPI:
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/ping")
    async def ping() -> dict[str, bool]:
        return {"pong": True}

    _mount_web(app, dist)
    return app


async def _get(app: FastAPI, path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path)


async def test_reload_on_a_client_route_answers_the_app(tmp_path: Path) -> None:
    app = _web_app(tmp_path / "dist")
    for path in ("/", "/mail/inbox", "/mail/inbox/0b7c2d7e-1f00-4c59-9d1e-6f3f1b0f2a11", "/login"):
        response = await _get(app, path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["content-type"].startswith("text/html")


async def test_assets_are_served_and_missing_files_stay_404(tmp_path: Path) -> None:
    app = _web_app(tmp_path / "dist")
    asset = await _get(app, "/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.text == "console.log(1)"
    assert_error(await _get(app, "/assets/index-gone.js"), 404, "RES001")


async def test_api_paths_keep_their_answers(tmp_path: Path) -> None:
    app = _web_app(tmp_path / "dist")
    assert (await _get(app, "/api/ping")).json() == {"pong": True}
    assert_error(await _get(app, "/api/nope"), 404, "RES001")
    assert_error(await _get(app, "/api/nope", method="POST"), 404, "RES001")
    wrong_method = await _get(app, "/api/ping", method="DELETE")
    assert_error(wrong_method, 405, "RES001")
    assert "GET" in wrong_method.headers["allow"]


def test_without_a_build_nothing_is_mounted(tmp_path: Path) -> None:
    app = FastAPI()
    _mount_web(app, tmp_path / "missing")
    assert getattr(app.state, "web_client", None) is None
