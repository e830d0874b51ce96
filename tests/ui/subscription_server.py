"""The status page subscription routes served over real HTTP (uvicorn in a thread) on a test's own database.

`serve(engine)` mounts `ui.status_subscription_routes.SUBSCRIPTION_ROUTES` exactly as server.py
does, with the routes' engine pointed at `engine` (SQLite or PostgreSQL), and yields an httpx
client whose base URL is the server's. Cheaper than a `streamlit run` process, and on both engines.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette

from ui import status_subscription_routes as routes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(engine: Engine) -> Iterator[httpx.Client]:
    """Serve the subscription routes on loopback for the block; the client talks to them."""
    original = routes.get_engine
    routes.get_engine = lambda url=None: engine  # type: ignore[assignment]
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes.SUBSCRIPTION_ROUTES), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
        routes.get_engine = original
