"""The public subscription routes of status pages (issue 20, being built)."""

from __future__ import annotations

from starlette.routing import Route

SUBSCRIPTION_ROUTES: list[Route] = []
