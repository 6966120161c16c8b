"""The explorer in a browser tab: starlette routes served by uvicorn on 127.0.0.1.

Every request needs the access token (``?token=`` or the ``X-Mmattr-Token`` header), as
Jupyter does; only the files shipped in ``static/`` are served; every parameter is checked
and refused with a 4xx JSON message; views run on the explorer's worker, never on the
request thread.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mmattr.insights._jobs import QueueFull
from mmattr.insights._settings import InsightsError

STATIC_DIR = Path(__file__).parent / "static"
TOKEN_HEADER = "x-mmattr-token"
MAX_BODY = 4096  # bytes of a request body: a view's settings are a few dozen
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
#: every response's security headers. Scripts and styles only from this server's files (no
#: inline script: the page's entry is ``static/main.js``; a view's inline styles are applied
#: through the CSSOM, which the policy leaves alone); images are the views' ``data:`` PNGs;
#: the token in the URL never leaves in a Referer.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def build_app(explorer: Any, token: str) -> Starlette:
    """The starlette application of ``explorer``, guarded by ``token``."""
    static = {p.name: p for p in STATIC_DIR.iterdir() if p.suffix in _TYPES}

    def allowed(request: Request) -> bool:
        given = request.query_params.get("token") or request.headers.get(TOKEN_HEADER) or ""
        return hmac.compare_digest(given.encode(), token.encode())

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if not allowed(request):
                return _error(403, "missing or wrong token; open the URL the server printed")
            try:
                return await handler(request)
            except InsightsError as error:
                return _error(400, str(error))
            except QueueFull as error:
                return _error(429, str(error))

        return endpoint

    async def index(request: Request) -> Response:
        page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("{token}", token))  # URL-safe: no escaping needed

    async def static_file(request: Request) -> Response:
        path = static.get(request.path_params["name"])
        if path is None:
            return _error(
                404, f"no static file {request.path_params['name']!r}; files: {sorted(static)}"
            )
        return FileResponse(path, media_type=_TYPES[path.suffix])

    async def state(request: Request) -> Response:
        return JSONResponse(explorer.state())

    async def run(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise InsightsError(f"request body has {len(body)} bytes; expected at most {MAX_BODY}")
        try:
            payload = json.loads(body or b"{}")
        except ValueError as error:
            raise InsightsError(f"request body is not JSON: {error}") from None
        return JSONResponse(explorer.submit(payload).to_dict())

    async def job(request: Request) -> Response:
        found = explorer.runner.get(request.path_params["job_id"])
        if found is None:
            return _error(404, f"no view {request.path_params['job_id']!r}")
        return JSONResponse(found.to_dict())

    async def cancel(request: Request) -> Response:
        found = explorer.runner.cancel(request.path_params["job_id"])
        if found is None:
            return _error(404, f"no view {request.path_params['job_id']!r}")
        return JSONResponse(found.to_dict())

    async def save(request: Request) -> Response:
        found = explorer.runner.get(request.path_params["job_id"])
        if found is None or found.status != "done":
            return _error(404, f"no finished view {request.path_params['job_id']!r}")
        headers = {"Content-Disposition": 'attachment; filename="explanation.zip"'}
        content = explorer.export(found.settings)
        return Response(content, media_type="application/zip", headers=headers)

    routes = [
        Route("/", guarded(index)),
        Route("/static/{name:path}", guarded(static_file)),
        Route("/api/state", guarded(state)),
        Route("/api/run", guarded(run), methods=["POST"]),
        Route("/api/job/{job_id}", guarded(job)),
        Route("/api/cancel/{job_id}", guarded(cancel), methods=["POST"]),
        Route("/api/save/{job_id}", guarded(save)),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_SecurityHeaders)])


class _SecurityHeaders:
    """ASGI middleware: ``SECURITY_HEADERS`` on every response, errors and 404s included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Server:
    """A uvicorn server of one explorer on ``host:port`` (port 0: a free port).

    Attributes:
        token: the random access token; ``url`` carries it.
    """

    def __init__(self, explorer: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port is {port!r}; expected an int in [0, 65535]")
        self.explorer, self.token = explorer, secrets.token_urlsafe(24)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.host, self.port = host, self.socket.getsockname()[1]
        config = uvicorn.Config(build_app(explorer, self.token), log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/?token={self.token}"

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C)."""
        print(f"mmattr insights: {self.url}", flush=True)
        self.server.run(sockets=[self.socket])

    def start(self) -> None:
        """Serve on a background thread; returns once the server accepts connections."""
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            threading.Event().wait(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the server thread."""
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.socket.close()
