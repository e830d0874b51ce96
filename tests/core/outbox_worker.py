"""A delivering process for the fault tests: `python -m tests.core.outbox_worker <db> <now ISO> <worker> <base url>`.

Runs `core.alerts.delivery.deliver` passes until one finds nothing due, then prints the totals as
JSON on its last line. `--once` runs a single pass. The tests start it as a real separate process
(two at once on one database, or one killed with SIGKILL in the middle of a send).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

from core.alerts.delivery import deliver
from db.engine import make_engine


def main(argv: list[str]) -> int:
    """Deliver until nothing is due; print {"passes","due","sent","failed","retrying","seconds"}."""
    url, now_text, worker, base_url = argv[:4]
    once = "--once" in argv[4:]
    limit = 20
    for arg in argv[4:]:
        if arg.startswith("--limit="):
            limit = int(arg.split("=", 1)[1])
    engine = make_engine(url)
    now = dt.datetime.fromisoformat(now_text)
    totals = {"passes": 0, "due": 0, "sent": 0, "failed": 0, "retrying": 0}
    started = time.monotonic()
    print("started", flush=True)
    while True:
        summary = deliver(engine, now=now, worker=worker, base_url=base_url, limit=limit)
        totals["passes"] += 1
        for name, value in summary.as_dict().items():
            totals[name] += value
        if once or summary.due == 0:
            break
    print(json.dumps({**totals, "seconds": round(time.monotonic() - started, 3)}), flush=True)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
