"""The per-token rate limit: a token bucket per API token, in this process's memory.

Each token may make `per_minute` calls a minute on average, in bursts of up to `per_minute`. The
buckets live in the server process (not the database): with several server processes each allows
the full rate, which the README says. Pure apart from a lock: time is an input (a monotonic clock
reading in seconds), never read here. Never imports streamlit.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    """Token buckets keyed by API token id."""

    per_minute: float
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, token_id: int, at: float) -> int | None:
        """Spend one call of `token_id` at monotonic time `at`: None when allowed, else seconds to wait (>= 1)."""
        rate = self.per_minute / 60.0
        with self._lock:
            level, last = self._buckets.get(token_id, (self.per_minute, at))
            level = min(self.per_minute, level + max(0.0, at - last) * rate)
            if level >= 1.0:
                self._buckets[token_id] = (level - 1.0, at)
                return None
            self._buckets[token_id] = (level, at)
            return max(1, math.ceil((1.0 - level) / rate))
