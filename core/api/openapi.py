"""The API's contract: an OpenAPI 3.1 document built from the request and response models.

Every schema comes from the pydantic models in `core.api.schemas` (`#/components/schemas/...`),
so the document cannot drift from what the routes validate and return. Each operation lists its
scope and its error answers. Pure: no I/O, never streamlit.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from core.api.schemas import (
    AlertRequest,
    AlertResponse,
    ChangeOut,
    ErrorResponse,
    EscalationRequest,
    IncidentListOut,
    IncidentOut,
    IncidentQuery,
    MilestoneRequest,
    NoteRequest,
    TriageOut,
    TriageRequest,
)

REF = "#/components/schemas/{model}"
API_VERSION = "1.0.0"
REQUESTS: tuple[type[BaseModel], ...] = (AlertRequest, TriageRequest, MilestoneRequest, NoteRequest,
                                          EscalationRequest)
RESPONSES: tuple[type[BaseModel], ...] = (AlertResponse, ErrorResponse, IncidentOut, IncidentListOut, TriageOut,
                                           ChangeOut)

_ERRORS = {
    "400": "the body is not valid JSON",
    "401": "no token, or an unknown, expired or revoked one, or its user is disabled (see WWW-Authenticate); "
           "for a source, a missing or wrong signature",
    "403": "the token's scope or its user's rights do not allow this",
    "404": "no such incident or account",
    "409": "the incident changed meanwhile, or the move is not allowed from its status",
    "413": "the body is over 512 KB",
    "415": "the body is not application/json",
    "422": "a field is missing or wrong: error.fields names each and says what to fix",
    "429": "too many calls with this token: wait Retry-After seconds",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _answers(codes: tuple[str, ...], ok: str, ok_model: type[BaseModel], ok_text: str) -> dict[str, Any]:
    answers: dict[str, Any] = {ok: {"description": ok_text,
                                    "content": {"application/json": {"schema": _ref(ok_model)}}}}
    for code in codes:
        answers[code] = {"description": _ERRORS[code],
                         "content": {"application/json": {"schema": _ref(ErrorResponse)}}}
        if code == "429":
            answers[code]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                        "description": "seconds to wait"}}
    return answers


_ID = {"name": "incident_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_CHANGES: tuple[tuple[str, str, type[BaseModel], str], ...] = (
    ("milestones", "recordMilestone", MilestoneRequest, "Record a milestone"),
    ("notes", "addNote", NoteRequest, "Add a note to the timeline"),
    ("escalations", "escalate", EscalationRequest, "Escalate to a higher level"),
)


def _query_parameters() -> list[dict[str, Any]]:
    schema = IncidentQuery.model_json_schema(ref_template=REF)
    return [{"name": name, "in": "query", "required": False, "schema": prop,
             **({"style": "form", "explode": True} if prop.get("type") == "array" else {})}
            for name, prop in schema["properties"].items()]


def document(server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of `/api/v1`."""
    _, top = models_json_schema([*((m, "validation") for m in REQUESTS), *((m, "serialization") for m in RESPONSES)],
                                ref_template=REF)
    reads = ("401", "403", "422", "429")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Escalation Desk API", "version": API_VERSION,
                 "description": "Alert intake, incident reads and changes. Authenticate with "
                                "`Authorization: Bearer <token>` (`python -m core tokens add NAME --scope "
                                "intake|read|write`)."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {"schemas": top.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "an API token (scopes intake, read, write)"}}},
        "paths": {
            "/api/v1/alerts": {"post": {
                "operationId": "sendAlert",
                "summary": "Trigger, acknowledge or resolve an alert (scope intake or write)",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "maxLength": 64},
                                "description": "a repeat with the same key never opens a second incident"}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(AlertRequest)}}},
                "responses": _answers(("400", "401", "403", "404", "409", "413", "415", "422", "429"), "201",
                                      AlertResponse, "what the alert did")}},
            "/api/v1/incidents": {"get": {
                "operationId": "listIncidents",
                "summary": "The incident list, filtered and paged (scope read or write)",
                "parameters": _query_parameters(),
                "responses": _answers(reads, "200", IncidentListOut, "one page of incidents")}},
            "/api/v1/incidents/{incident_id}": {"get": {
                "operationId": "getIncident", "summary": "One incident: clocks, ladder, milestones, timeline, messages "
                                                         "(scope read or write)",
                "parameters": [_ID],
                "responses": _answers(("401", "403", "404", "422", "429"), "200", IncidentOut, "the incident")}},
            "/api/v1/triage": {"post": {
                "operationId": "triage", "summary": "Classify a checklist without opening an incident (scope read "
                                                    "or write)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(TriageRequest)}}},
                "responses": _answers(("400", "401", "403", "413", "415", "422", "429"), "200", TriageOut,
                                      "the triage")}},
            **{f"/api/v1/incidents/{{incident_id}}/{name}": {"post": {
                "operationId": operation, "summary": f"{text} (scope write)",
                "parameters": [_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(model)}}},
                "responses": _answers(("400", "401", "403", "404", "409", "413", "415", "422", "429"), "201",
                                      ChangeOut, "the incident after the change")}}
               for name, operation, model, text in _CHANGES},
            "/api/v1/sources/{name}/events": {"post": {
                "operationId": "sourceEvent", "security": [],
                "summary": "A signed webhook of an alert source (a helpdesk's ticket event): its own JSON, read with "
                           "the source's mapping",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "X-Signature", "in": "header", "required": True,
                                "schema": {"type": "string"},
                                "description": "HMAC-SHA256 of the body with the source's secret (hex, "
                                               "sha256=<hex> or base64); the header name is the source's"}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": _answers(("400", "401", "403", "404", "409", "413", "415", "422", "429"), "201",
                                      AlertResponse, "what the event did")}},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "the OpenAPI document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
    }
