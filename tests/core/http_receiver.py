"""A real HTTP receiver on 127.0.0.1 for the alert tests: records every POST, answers as its path says.

Paths: `/ok` answers 204, `/status/<code>` answers that code, `/slow/<seconds>` waits then 200,
`/trickle/<code>` sends the status and a few body bytes then stalls, `/redirect` sends a 302 to
another host, `/hold` keeps the request open until `release()` (or the client goes away).
Anything else: 200. `deliveries` lists (path, headers, body) of every request whose body was read,
in arrival order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    """The receiving side: its base URL and what it got."""

    url: str
    deliveries: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def release(self) -> None:
        """Let every held request finish."""
        self.released.set()

    def bodies(self, path: str | None = None) -> list[bytes]:
        """The bodies received (on `path` only, when given)."""
        with self.lock:
            return [body for p, _, body in self.deliveries if path is None or p == path]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Serve on a free loopback port for the duration of the block."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def do_POST(self) -> None:  # the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.deliveries.append((self.path, {k: v for k, v in self.headers.items()}, body))
            if self.path.startswith("/status/"):
                self._answer(int(self.path.rsplit("/", 1)[1]), b"receiver says no")
            elif self.path.startswith("/slow/"):
                time.sleep(float(self.path.rsplit("/", 1)[1]))
                self._answer(200)
            elif self.path.startswith("/trickle/"):
                # The status line and a first bit of the body at once, the rest never (within 5 s).
                self.send_response(int(self.path.rsplit("/", 1)[1]))
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"first words of a long answer")
                self.wfile.flush()
                time.sleep(5)
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://elsewhere.example/hook")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/hold":
                state.held.set()
                state.released.wait(60)
                self._answer(200)
            else:
                self._answer(204 if self.path == "/ok" else 200)

        def _answer(self, code: int, text: bytes = b"") -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
            except OSError:
                pass  # the client gave up (timed out or was killed)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """An http URL on a loopback port where nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
