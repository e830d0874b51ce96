"""Schemathesis against the OpenAPI document served by a real `streamlit run server.py` on 127.0.0.1.

The document is loaded from `/api/v1/openapi.json` of the running server; every operation gets cases
built from its schema, valid ones and ones that break it, and sends them with a `write` token of an
admin (a fresh token every 50 calls, so the per-token rate limit does not answer everything; it has
its own test). Path ids are sometimes a real open incident, so the success paths run too. Every
answer must not be a server error, must have a status code the document lists for the operation,
and must match the schema it gives for that status. The totals are printed for the closing note.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.ui.test_api import Api, _token, api  # noqa: F401 -- `api` is the module's running server (a fixture)

EXAMPLES = 25  # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


class _Tally:
    """A fresh admin write token every 50 calls; the cases sent and the answers by status."""

    def __init__(self, server: Api):
        self.api, self.calls = server, 0
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.bearer = ""

    def headers(self) -> dict[str, str]:
        if self.calls % 50 == 0:
            self.bearer = _token(self.api.engine, f"schemathesis-{self.calls}", "write", username="ada")
        self.calls += 1
        return {"Authorization": f"Bearer {self.bearer}"}


@pytest.mark.slow
def test_every_operation_answers_as_the_openapi_document_says(api):  # noqa: F811 -- the imported fixture
    schema = schemathesis.openapi.from_url(api.url + "/api/v1/openapi.json")
    _, _, opened = api.alert(dedup_key="schemathesis-target", title="Schemathesis target", severity="warning")
    known = {"incident_id": opened["incident_id"], "name": "zendesk"}
    tally = _Tally(api)
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items() for method in item}
    # The document's own path is left out by schemathesis: it serves the schema under test.
    assert {op.label for op in operations} == documented - {"GET /api/v1/openapi.json"}
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in known.items() if k in names}
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        strategy = st.one_of(*[operation.as_strategy(mode) for mode in modes],
                             *[operation.as_strategy(mode, path_parameters=fixed) for mode in modes if fixed])

        @settings(max_examples=EXAMPLES * len(modes), deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: Any) -> None:
            headers = tally.headers()
            response = case.call(base_url=api.url, headers=headers, timeout=30)
            tally.statuses[response.status_code] += 1
            if response.status_code >= 500:
                tally.server_errors.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            case.validate_response(response, checks=CHECKS, headers=headers)

        run()
    print(f"Schemathesis on /api/v1/openapi.json: {len(operations)} operations, {tally.calls} cases, answers by "
          f"status {dict(sorted(tally.statuses.items()))}, 5xx: {len(tally.server_errors)}")
    assert tally.server_errors == []
