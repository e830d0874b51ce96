"""The public status page routes (issue 20, being built)."""

from __future__ import annotations

from starlette.routing import Route

STATUS_ROUTES: list[Route] = []
