"""The HTTP API under `/api/v1/`: Starlette routes served by the same `streamlit run server.py` process.

Alerts (`POST /alerts`), triage without opening (`POST /triage`), reads (`GET /incidents`,
`GET /incidents/{id}`), changes (`POST /incidents/{id}/milestones|notes|escalations`), signed
webhooks of alert sources (`POST /sources/{name}/events`: HMAC instead of a token;
`core.api.sources`) and the contract (`GET /openapi.json`, public).

Each call: a bearer token (401 with `WWW-Authenticate` when missing, unknown, expired or revoked;
`core.api.tokens`), its scope (403), the per-token rate limit (429 with `Retry-After`;
`core.api.rate`, counted in the database, shared by every process), then for a body: JSON only (415), at most 512 KB
by `Content-Length` and by the bytes actually read (413), valid JSON (400), fields checked by the
request model (422 naming each field). The work runs in Starlette's thread pool, one unit of work,
with the same core functions as the pages; it acts as the token's user. Every authenticated call
except a 429 is audited with its token (`tokens.mark_used`). Errors are always
`{"error": {"code", "message", "fields": [{"field", "message"}]}}`. This module only translates
HTTP to core calls and back; it decides nothing, and it never renders user data as HTML.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.api import alerts, idempotency, rate, reads, sources, tokens, writes
from core.api.openapi import document
from core.api.schemas import (
    AlertRequest,
    AlertResponse,
    EscalationRequest,
    IncidentQuery,
    MilestoneRequest,
    NoteRequest,
    OutageOfferOut,
    TriageRequest,
)
from core.incident.flows import ConflictError, IncidentError, IncidentForbidden, check_idempotency_key
from core.incident.lifecycle import IllegalMove
from core.policy.loading import PolicyError
from db.engine import read_scope, session_scope

log = logging.getLogger(__name__)

MAX_BODY = 512 * 1024
RATE_ENV = "ESCALATION_DESK_API_RATE_PER_MINUTE"
DEFAULT_RATE = 120.0
REALM = 'Bearer realm="escalation-desk"'
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _rate_from(text: str | None) -> float:
    try:
        value = float(text) if text else DEFAULT_RATE
    except ValueError:
        return DEFAULT_RATE
    return value if value > 0 else DEFAULT_RATE


PER_MINUTE = _rate_from(os.environ.get(RATE_ENV))


def _take(bucket: int) -> int | None:
    # One short write transaction per call: the count is the database's, so every process shares it.
    with session_scope() as session:
        return rate.take(session, bucket, now=_now(), per_minute=PER_MINUTE)


class ApiProblem(Exception):
    """An answer other than success: status, code, message, fields at fault, extra headers."""

    def __init__(self, status: int, code: str, message: str, fields: Sequence[tuple[str, str]] = (),
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields, self.headers = list(fields), dict(headers or {})


def error_response(problem: ApiProblem) -> JSONResponse:
    """The JSON body every error has."""
    body = {"error": {"code": problem.code, "message": problem.message,
                      "fields": [{"field": f, "message": m} for f, m in problem.fields]}}
    return JSONResponse(body, status_code=problem.status, headers={**_HEADERS, **problem.headers})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _field_name(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_problem(error: ValidationError, *, prefix: str = "") -> ApiProblem:
    """422 naming each field at fault, with pydantic's message saying what is allowed."""
    # The checklist names an unknown answer in the error's context ("at"), below the location it was found at.
    fields = [(prefix + _field_name([*e["loc"], *(e.get("ctx") or {}).get("at", [])]), e["msg"])
              for e in error.errors(include_url=False)]
    return ApiProblem(422, "invalid", "Some fields are missing or wrong: fix each one listed in 'fields'.", fields)


def _token_of(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise ApiProblem(401, "unauthenticated", "Send an API token: 'Authorization: Bearer <token>' "
                                                 "(an admin makes one with `python -m core tokens add`).",
                         headers={"WWW-Authenticate": REALM})
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiProblem(401, "unauthenticated", "The Authorization header must be 'Bearer <token>'.",
                         headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'})
    return value.strip()


def _verify(token: str) -> tokens.TokenHolder:
    with read_scope() as session:
        return tokens.verify(session, token, now=_now())


def _audit(holder: tokens.TokenHolder, action: str, status: int) -> None:
    with session_scope() as session:
        tokens.mark_used(session, holder, action=action, outcome=status, now=_now())


async def _body(request: Request) -> bytes:
    """The request's body: JSON only, at most MAX_BODY by its declared length and by what arrives."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiProblem(415, "unsupported_media_type",
                         f"Send the body as JSON with 'Content-Type: application/json' (got {kind or 'none'!r}).")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiProblem(413, "too_large", f"The body is {int(declared)} bytes; at most {MAX_BODY} (512 KB).")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY:
            raise ApiProblem(413, "too_large", f"The body is over {MAX_BODY} bytes (512 KB): send less.")
    return bytes(received)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiProblem(400, "bad_json", f"The body is not valid JSON ({error}): send one JSON object.") from None


def _parse(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        raise ApiProblem(422, "invalid", "Send one JSON object.", [("body", "expected a JSON object")])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_problem(error) from None


# A core refusal's HTTP meaning: (type, status, code, the field it concerns); the first match wins.
_REFUSALS: tuple[tuple[type[Exception], int, str, str | None], ...] = (
    (IncidentForbidden, 403, "forbidden", None),
    (reads.ReadForbidden, 403, "forbidden", None),
    (ConflictError, 409, "conflict", "expected_version"),
    (idempotency.KeyReused, 422, "invalid", "Idempotency-Key"),
    (writes.IncidentMissing, 404, "not_found", None),
    (IllegalMove, 409, "conflict", "milestone"),
    (PolicyError, 422, "invalid", "policy"),
)


def _core_problem(error: Exception) -> ApiProblem:
    """A core refusal as an HTTP answer (the message is core's, already saying what to fix)."""
    if isinstance(error, alerts.AlertError):
        code = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(error.status, "invalid")
        return ApiProblem(error.status, code, str(error), [(error.field, str(error))] if error.field else [])
    status, code, field = next(((s, c, f) for kind, s, c, f in _REFUSALS if isinstance(error, kind)),
                               (422, "invalid", None))
    return ApiProblem(status, code, str(error), [(field, str(error))] if field else [])


# What a core function may refuse with; anything else is a fault of ours (500, logged, no detail given out).
CORE_REFUSALS = (alerts.AlertError, IncidentError, IllegalMove, idempotency.KeyReused, writes.IncidentMissing,
                 reads.ReadForbidden, PolicyError)


Handler = Callable[[Request, tokens.TokenHolder], Awaitable[Response]]


def endpoint(kind: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with the token, scope, rate limit, error shape and the audit of the call."""

    async def run(request: Request) -> Response:
        action = f"{request.method} {request.url.path}"
        try:
            holder = await run_in_threadpool(_verify, _token_of(request))
        except ApiProblem as problem:
            return error_response(problem)
        except tokens.TokenRefused as refused:
            return error_response(ApiProblem(401, f"token_{refused.reason}", str(refused),
                                             headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'}))
        wait = await run_in_threadpool(_take, holder.token_id)
        if wait is not None:
            return error_response(ApiProblem(429, "rate_limited", f"Too many calls with this token: at most "
                                             f"{PER_MINUTE:g} a minute. Try again in {wait} s.",
                                             headers={"Retry-After": str(wait)}))
        try:
            if not holder.allows(kind):
                raise ApiProblem(403, "scope", f"Token '{holder.token_name}' has scope {holder.scope.value}, which "
                                 f"does not allow this call: {_SCOPE_NEEDED[kind]}.")
            response = await handler(request, holder)
        except ApiProblem as problem:
            response = error_response(problem)
        except Exception:
            log.exception("API call %s failed", action)
            response = error_response(ApiProblem(500, "internal", "Something went wrong on our side; nothing was "
                                                                  "changed. Try again, and tell an admin if it lasts."))
        await run_in_threadpool(_audit, holder, action, response.status_code)
        return response

    return run


_SCOPE_NEEDED = {"alerts": "sending alerts needs scope intake or write",
                 "read": "reads and triage need scope read or write",
                 "write": "changes need scope write"}


def _ok(body: BaseModel | dict[str, Any], status: int = 200) -> JSONResponse:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return JSONResponse(data, status_code=status, headers=_HEADERS)


def _in_unit_of_work(work: Callable[[Session], idempotency.StoredAnswer]) -> idempotency.StoredAnswer:
    """Run `work` in one unit of work; a twin request that saved the same key first: run it again (it finds it)."""
    for attempt in range(2):
        try:
            with session_scope() as session:
                return work(session)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _alert_response(outcome: alerts.AlertOutcome) -> dict[str, Any]:
    """The response body of an alert's outcome, with the open outages it offers (if any)."""
    offer = outcome.open_outages
    return AlertResponse(
        incident_id=outcome.incident_id, status=outcome.status, severity=outcome.severity,
        needs_triage=outcome.needs_triage, outage_id=outcome.outage_id,
        open_outages=None if offer is None else [OutageOfferOut.model_validate(o, from_attributes=True)
                                                 for o in offer]).model_dump(mode="json")


async def post_alert(request: Request, holder: tokens.TokenHolder) -> Response:
    """POST /api/v1/alerts: trigger, acknowledge or resolve; 201 with what it did."""
    raw = await _body(request)
    alert: AlertRequest = _parse(AlertRequest, _json(raw))
    try:
        key = check_idempotency_key(request.headers.get("idempotency-key"))
    except IncidentError as error:
        raise ApiProblem(422, "invalid", str(error), [("Idempotency-Key", str(error))]) from None
    request_hash = idempotency.fingerprint(request.method, request.url.path, raw)
    event = alerts.AlertEvent(event_action=alert.event_action, dedup_key=alert.dedup_key,
                              account_id=alert.account_id, routing_key=alert.routing_key, title=alert.title,
                              summary=alert.summary, source=alert.source, severity=alert.severity,
                              answers=alert.answers, outage_id=alert.outage_id)

    def work(session: Session) -> idempotency.StoredAnswer:
        now = _now()
        if key is not None:
            stored = idempotency.find(session, token_id=holder.token_id, key=key, request_hash=request_hash)
            if stored is not None:
                return stored
        outcome = alerts.take(session, event, actor=holder.actor, now=now)
        answer = idempotency.StoredAnswer(201, _alert_response(outcome))
        if key is not None:
            idempotency.remember(session, token_id=holder.token_id, key=key, request_hash=request_hash,
                                 answer=answer, now=now)
        return answer

    try:
        answer = await run_in_threadpool(_in_unit_of_work, work)
    except CORE_REFUSALS as error:
        raise _core_problem(error) from None
    return _ok(answer.body, answer.status_code)


def _incident_id(request: Request) -> int:
    text = str(request.path_params.get("incident_id", ""))
    if not text.isdigit() or int(text) < 1 or len(text) > 12:
        raise ApiProblem(422, "invalid", "The incident id is a whole number from 1, e.g. /api/v1/incidents/42.",
                         [("incident_id", "a whole number from 1")])
    return int(text)


def change(model: type[BaseModel], call: Callable[..., BaseModel]) -> Handler:
    """A handler for POST /api/v1/incidents/{id}/...: parse `model`, run `call` in one unit of work, answer 201."""

    async def run(request: Request, holder: tokens.TokenHolder) -> Response:
        incident_id = _incident_id(request)
        body = _parse(model, _json(await _body(request)))

        def work() -> BaseModel:
            with session_scope() as session:
                return call(session, incident_id, body, actor=holder.actor, now=_now())

        try:
            result = await run_in_threadpool(work)
        except CORE_REFUSALS as error:
            raise _core_problem(error) from None
        return _ok(result, 201)

    return run


async def post_triage(request: Request, holder: tokens.TokenHolder) -> Response:
    """POST /api/v1/triage: classify a checklist, open nothing."""
    body: TriageRequest = _parse(TriageRequest, _json(await _body(request)))

    def classify() -> BaseModel:
        with read_scope() as session:
            return writes.classify(session, body, now=_now())

    try:
        result = await run_in_threadpool(classify)
    except CORE_REFUSALS as error:
        raise _core_problem(error) from None
    return _ok(result)


async def get_incident(request: Request, holder: tokens.TokenHolder) -> Response:
    """GET /api/v1/incidents/{incident_id}: the incident as its page shows it."""
    incident_id = _incident_id(request)

    def read() -> Any:
        with read_scope() as session:
            return reads.incident(session, incident_id, actor=holder.actor, now=_now())

    try:
        found = await run_in_threadpool(read)
    except reads.ReadForbidden as error:
        raise _core_problem(error) from None
    if found is None:
        raise ApiProblem(404, "not_found", f"There is no incident {incident_id}.")
    return _ok(found)


_LIST_FIELDS = {"status", "severity"}


async def list_incidents(request: Request, holder: tokens.TokenHolder) -> Response:
    """GET /api/v1/incidents: one page of the list under the list page's filters."""
    params: dict[str, Any] = {}
    for name in request.query_params:
        values = request.query_params.getlist(name)
        params[name] = values if name in _LIST_FIELDS else values[-1]
    try:
        query = IncidentQuery.model_validate(params)
    except ValidationError as error:
        raise validation_problem(error) from None
    try:
        page = await run_in_threadpool(reads.incident_list, query, actor=holder.actor, now=_now())
    except reads.ReadForbidden as error:
        raise _core_problem(error) from None
    return _ok(page)


def _source(name: str) -> sources.Source | None:
    with read_scope() as session:
        return sources.source_named(session, name)


def _record_event(source: sources.Source, status: int, incident_id: int | None) -> None:
    with session_scope() as session:
        sources.record_event(session, source, outcome=status, incident_id=incident_id, now=_now())


async def source_event(request: Request) -> Response:
    """POST /api/v1/sources/{name}/events: a signed webhook of a source (a helpdesk's ticket event)."""
    name = str(request.path_params.get("name", ""))
    try:
        raw = await _body(request)
        source = await run_in_threadpool(_source, name)
        if source is None:
            raise ApiProblem(404, "not_found", f"There is no enabled alert source {name!r}: an admin adds one with "
                                               "`python -m core sources add`.")
    except ApiProblem as problem:
        return error_response(problem)
    wait = await run_in_threadpool(_take, -source.id)  # sources and tokens never share a bucket
    if wait is not None:
        return error_response(ApiProblem(429, "rate_limited", f"Too many events from this source: try again in "
                                                              f"{wait} s.", headers={"Retry-After": str(wait)}))
    incident_id = None
    try:
        sources.check_signature(source, raw, request.headers.get(source.signature_header))
        event = sources.event_from(source, _json(raw))

        def work(session: Session) -> idempotency.StoredAnswer:
            outcome = alerts.take(session, event, actor=source.actor, now=_now())
            return idempotency.StoredAnswer(201, _alert_response(outcome))

        answer = await run_in_threadpool(_in_unit_of_work, work)
        incident_id = answer.body["incident_id"]
        response: Response = _ok(answer.body, answer.status_code)
    except sources.SignatureRefused as refused:
        response = error_response(ApiProblem(401, "bad_signature", str(refused), [(source.signature_header,
                                                                                   str(refused))],
                                             headers={"WWW-Authenticate": f'HMAC-SHA256 header="'
                                                                          f'{source.signature_header}"'}))
    except ApiProblem as problem:
        response = error_response(problem)
    except CORE_REFUSALS as error:
        response = error_response(_core_problem(error))
    except Exception:
        log.exception("Alert source %s: event failed", source.name)
        response = error_response(ApiProblem(500, "internal", "Something went wrong on our side; nothing was "
                                                              "changed. Send the event again."))
    await run_in_threadpool(_record_event, source, response.status_code, incident_id)
    return response


def openapi(request: Request) -> Response:
    """GET /api/v1/openapi.json: the contract (public: it holds no data)."""
    return _ok(document())


def not_found(request: Request) -> Response:
    """Any other path under /api/v1: a JSON 404 listing what exists."""
    return error_response(ApiProblem(404, "not_found", f"No API endpoint {request.url.path}: see /api/v1/openapi.json "
                                                       "for the ones that exist."))


API_ROUTES = [
    Route("/api/v1/openapi.json", openapi, methods=["GET"]),
    Route("/api/v1/alerts", endpoint("alerts", post_alert), methods=["POST"]),
    Route("/api/v1/incidents", endpoint("read", list_incidents), methods=["GET"]),
    Route("/api/v1/incidents/{incident_id}", endpoint("read", get_incident), methods=["GET"]),
    Route("/api/v1/triage", endpoint("read", post_triage), methods=["POST"]),
    Route("/api/v1/incidents/{incident_id}/milestones",
          endpoint("write", change(MilestoneRequest, writes.record_milestone)), methods=["POST"]),
    Route("/api/v1/incidents/{incident_id}/notes", endpoint("write", change(NoteRequest, writes.add_note)),
          methods=["POST"]),
    Route("/api/v1/incidents/{incident_id}/escalations",
          endpoint("write", change(EscalationRequest, writes.escalate)), methods=["POST"]),
    Route("/api/v1/sources/{name}/events", source_event, methods=["POST"]),
    Route("/api/v1/{rest:path}", not_found),
]
