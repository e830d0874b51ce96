"""Real-browser fixtures: a Streamlit server on a free port with its own database, and Chromium.

Debian's chromium is used (Playwright's own browser download does not work
on these machines); `make test` installs it when missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from db.engine import make_engine
from db.migrate import upgrade
from tests.conftest import make_user

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `streamlit run <script>` (the app's server module by default) with a private database.

    `env` adds settings; the scheduler runs as in `make run` unless `env` says otherwise.
    """

    def __init__(self, tmp: Path, script: str = "server.py", env: dict[str, str] | None = None):
        self.tmp, self.script, self.extra_env = tmp, script, dict(env or {})
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = f"sqlite:///{tmp / 'app.db'}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.db_url, "ESCALATION_DESK_DATA": str(self.tmp), **self.extra_env}
        # The server keeps its own copy of the log's descriptor: ours can close once it has started.
        with (self.tmp / "server.log").open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", self.script, "--server.headless=true",
                 f"--server.port={self.port}", "--server.address=127.0.0.1",
                 "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=1) as r:
                    if r.read() == b"ok":
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("streamlit did not become healthy:\n" + (self.tmp / "server.log").read_text())

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@contextmanager
def running_server(tmp: Path, users: dict[str, str], prepare=None, env: dict[str, str] | None = None):
    """Start a cold server whose database holds `users` ({username: role}) with TEST_PASSWORD (and `env` set)."""
    server = Server(tmp, env=env)
    engine = make_engine(server.db_url)
    upgrade(engine)
    ids = {username: make_user(engine, username, role) for username, role in users.items()}
    if prepare is not None:
        prepare(engine, ids)
    engine.dispose()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make test`, which installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def wait_idle(page: Page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=20000
    )
    page.wait_for_timeout(300)


def settle_single(page: Page, locator: Locator, timeout_ms: int = 20000) -> None:
    """Wait until `locator` matches exactly one element.

    After a page load the cookie component asks for one more rerun; while it
    runs, Streamlit shows the previous form (stale) beside the new one, so a
    field can briefly match twice. Filling then fails Playwright's strict mode
    (seen once in CI: two "Username" fields after a reload).
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while locator.count() != 1:
        if time.monotonic() > deadline:
            raise AssertionError(f"{locator} matched {locator.count()} elements for {timeout_ms} ms, not one")
        page.wait_for_timeout(100)
    wait_idle(page)


def sign_in(page: Page, username: str, password: str) -> None:
    """Fill and submit the sign-in form, then let the cookie component's own rerun settle."""
    settle_single(page, page.get_by_role("textbox", name="Username"))
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    # While a rerun is under way Streamlit keeps the previous elements (stale)
    # beside the new ones; the cookie write triggers one more rerun.
    page.wait_for_timeout(1500)
    wait_idle(page)


def open_app(page: Page, url: str) -> None:
    """Go to `url` and wait for the app to connect; reload once if the first connection failed.

    On a loaded two-core machine the first websocket of a fresh browser context
    occasionally times out ("Connection error"): that is the test bed, not the app.
    """
    page.goto(url)
    try:
        page.wait_for_selector("[data-testid='stMain']", timeout=20000)
        wait_idle(page)
    except Exception:
        page.reload()
        page.wait_for_selector("[data-testid='stMain']", timeout=30000)
        wait_idle(page)


# A real browser against a real server on two shared cores: a Streamlit rerun (the cockpit's 10 s redraw, the
# inbox poll) can race a navigation click and show the previous page for a moment. Each browser test may run
# once more after a failure; the terminal summary lists every rerun ("R"), so a test that flakes stays visible,
# and one that fails twice fails the run.
BROWSER_RERUNS = 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here) and item.get_closest_marker("flaky") is None:
            item.add_marker(pytest.mark.flaky(reruns=BROWSER_RERUNS))
