"""The JSON API fuzzed from its own OpenAPI schema (schemathesis) against a real ``nasicon
web`` with a lab member's token: no answer is a server error, and a rejected request
(4xx) writes nothing (row counts, raw store and upload area compared around each one).
Bounded: at most 30 examples per operation (schema-valid
and schema-violating ones), derandomized, so the run takes well under a
minute."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from web_server import Server, launch

EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory):
    server = launch(tmp_path_factory.mktemp("web_fuzz"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Server):
    token = fuzz_server.tokens["lab"]
    return schemathesis.openapi.from_url(
        f"{fuzz_server.url}/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}
    )


#: Every operation of the schema (test_every_operation_is_fuzzed keeps this list whole).
OPERATIONS = [
    ("GET", "/healthz"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/queue"),
    ("POST", "/api/v1/queue/{proposal_id}/claim"),
    ("POST", "/api/v1/queue/{proposal_id}/release"),
    ("POST", "/api/v1/queue/{proposal_id}/abandon"),
    ("POST", "/api/v1/queue/{proposal_id}/reject"),
    ("POST", "/api/v1/outcomes/synthesis"),
    ("POST", "/api/v1/outcomes/xrd"),
    ("POST", "/api/v1/outcomes/conductivity"),
    ("POST", "/api/v1/outcomes/{kind}/{record_id}/retract"),
    ("GET", "/api/v1/samples/{sample_id}"),
    ("GET", "/api/v1/rounds"),
]


def _state(server: Server) -> tuple:
    uploads = server.cwd / "nasicon_data" / "uploads"
    kept = sorted(str(p) for p in uploads.rglob("*")) if uploads.exists() else []
    return server.counts(), server.stored_files(), kept


def test_every_operation_is_fuzzed(api_schema) -> None:
    found = {(op.method.upper(), op.path) for op in
             (result.ok() for result in api_schema.get_all_operations())}  # fmt: skip
    assert found == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_never_fails_and_a_rejected_request_writes_nothing(
    api_schema, fuzz_server: Server, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    token = fuzz_server.tokens["lab"]

    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))  # fmt: skip
    calls = []

    @given(case=cases)
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)  # fmt: skip
    def one(case) -> None:
        calls.append(1)
        before = _state(fuzz_server)
        response = case.call(base_url=fuzz_server.url,
                             headers={"Authorization": f"Bearer {token}"}, timeout=60)
        case.validate_response(response, checks=[not_a_server_error])
        if 400 <= response.status_code < 500:
            assert response.json().keys() == {"error"}, response.text
            assert _state(fuzz_server) == before, (method, path, response.text)

    one()
    assert calls  # the strategy did produce requests
