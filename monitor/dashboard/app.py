"""The dashboard: a Starlette app streaming the monitor's events by server-sent events.

Routes: ``/`` (the page), ``/static/*`` (its script and style, shipped in the package:
nothing is fetched from elsewhere; they hold no data and need no token), ``/api/state``
(limits and the recent history, JSON) and ``/events`` (the live stream: ``metrics`` and
``alert`` events as JSON).

It binds to 127.0.0.1 by default. Bound to any other address it requires a token: the page and
the data routes need it as ``?token=...`` or ``Authorization: Bearer ...``; without one the
server refuses to start (:func:`check_binding`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hybridrisk.errors import ConfigError
from monitor.loop import Monitor

__all__ = ["LOCAL_HOSTS", "check_binding", "create_app", "dashboard_server"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_STATIC = Path(str(resources.files("monitor.dashboard") / "static"))


def check_binding(host: str, token: str | None) -> None:
    """Refuse a non-local binding without a token."""
    if host not in LOCAL_HOSTS and not token:
        raise ConfigError(f"the dashboard binds to {host!r}, which is not local: give a "
                          "--token (or bind to 127.0.0.1)")


def create_app(monitor: Monitor, *, token: str | None = None,
               keepalive: float = 10.0) -> Starlette:
    """The dashboard app for a running monitor."""

    def allowed(request: Request) -> bool:
        if not token:
            return True
        given = request.query_params.get("token") or request.headers.get(
            "authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())

    def guard(handler):  # noqa: ANN001, ANN202
        async def wrapped(request: Request) -> Response:
            if not allowed(request):
                return JSONResponse({"error": "a valid token is required"}, status_code=401)
            return await handler(request)
        return wrapped

    async def page(request: Request) -> Response:
        return FileResponse(_STATIC / "index.html", media_type="text/html")

    async def state(request: Request) -> Response:
        store = monitor.store
        return JSONResponse({
            "limits": [asdict(lim) for lim in monitor.limits.limits],
            "assessments": list(store.recent["assessments"]),
            "alerts": list(store.recent["alerts"]),
        })

    async def events(request: Request) -> Response:
        queue = monitor.hub.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 1000\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), keepalive)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
            finally:
                monitor.hub.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return Starlette(routes=[
        Route("/", guard(page)),
        Route("/api/state", guard(state)),
        Route("/events", guard(events)),
        Mount("/static", app=StaticFiles(directory=str(_STATIC))),
    ])


def dashboard_server(monitor: Monitor, *, host: str = "127.0.0.1", port: int = 8050,
                     token: str | None = None) -> uvicorn.Server:
    """A uvicorn server for the dashboard (start it with ``await server.serve()``)."""
    check_binding(host, token)
    config = uvicorn.Config(create_app(monitor, token=token), host=host, port=port,
                            log_level="warning", timeout_graceful_shutdown=1, lifespan="off")
    return uvicorn.Server(config)
