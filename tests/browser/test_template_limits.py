"""A real server keeps answering while an admin's draft template blows the render limits."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import open_app, running_server, sign_in, wait_idle
from tests.conftest import TEST_PASSWORD

# In the app's own process this held the interpreter lock for minutes (every session froze).
WORST = "{% set row = [1] * 5000 %}{{ ([row] * 5000)|sum(start=[])|length }}"


class HealthProbe(threading.Thread):
    """GET /_stcore/health every 20 ms; records each answer and how long it took."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url + "/_stcore/health"
        self.answers: list[tuple[float, bytes]] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    body = response.read()
            except OSError as exc:
                body = repr(exc).encode()
            self.answers.append((time.perf_counter() - started, body))
            time.sleep(0.02)

    def stop(self) -> list[tuple[float, bytes]]:
        """Stop probing; every (seconds, body) answer."""
        self._done.set()
        self.join()
        return self.answers


def _template_workers_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"core.communication.worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return found


def test_health_answers_while_a_draft_preview_overruns_the_limits(browser, tmp_path):
    with running_server(tmp_path, {"ada": "admin"}) as server:
        page = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
        open_app(page, f"{server.url}/templates_admin")
        sign_in(page, "ada", TEST_PASSWORD)
        expect(page.get_by_role("heading", name="Message templates")).to_be_visible(timeout=20000)
        wait_idle(page)
        assert _template_workers_of(server.proc.pid), "the catalog check ran in a worker of the server"
        page.get_by_text("Preview the draft with sample data").click()
        editor = page.get_by_label("Plain text")
        editor.fill(WORST)
        probe = HealthProbe(server.url)
        probe.start()
        started = time.monotonic()
        editor.press("Control+Enter")  # commits the text area: the page reruns and previews the draft
        expect(page.get_by_text("this template took more than 2 s to render").first).to_be_visible(timeout=30000)
        elapsed = time.monotonic() - started
        answers = probe.stop()
        wait_idle(page)
        assert editor.input_value() == WORST, "the draft stays in the editor"
        slowest = max(seconds for seconds, _ in answers)
        print(f"health: {len(answers)} requests in {elapsed:.1f} s while the draft rendered, "
              f"all ok: {all(body == b'ok' for _, body in answers)}, slowest {slowest * 1000:.0f} ms")
        assert len(answers) >= 20 and all(body == b"ok" for _, body in answers)
        # A page rerun alone costs health a few hundred ms on a loaded two-core machine; a render in the
        # server's own process would block it for the whole render (minutes, for this template).
        assert slowest < 2.0
