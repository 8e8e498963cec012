"""The OpenAPI document describes the server: every status an operation answers
is documented with its dialect's error model, content types are true, and a 405
names every method the path serves.

A bounded schemathesis run (every operation, a few generated requests each, auth
on, the fake engine) checks responses against the document: no 5xx, documented
status codes, content types, headers and response schemas, ``Allow`` on 405. It
does not check that the schema alone predicts acceptance (audio must be audio, a
scope must exist): those are the server's rules, not the document's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import checks

from dalston.gateway.app import create_app
from tests.audio_fixtures import JFK
from tests.inproc.conftest import fast_settings
from tests.inproc.fake_engine import FakeTranscriber

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.unsupported_method,
]

_APP = create_app(
    fast_settings(Path(tempfile.mkdtemp(prefix="dalston-openapi-"))),
    engine_classes=[FakeTranscriber],
)
# Loading the document needs no running app; the calls do (``client`` below).
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    # An app of its own: schemathesis keeps ``_APP`` running for the process,
    # and one embedded server per data directory (``db.instance``).
    app = create_app(
        fast_settings(Path(tempfile.mkdtemp(prefix="dalston-openapi-client-"))),
        engine_classes=[FakeTranscriber],
    )
    with TestClient(app) as started:
        yield started


def _auth(app: Any = _APP) -> dict[str, str]:
    key = app.state.settings.admin_key_file.read_text().strip()
    return {"Authorization": f"Bearer {key}"}


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_responses_match_the_document(case: Any, client: TestClient) -> None:
    case.call_and_validate(headers=_auth(), checks=CHECKS)


def _responses(client: TestClient, path: str, method: str) -> dict[str, Any]:
    document = client.get("/openapi.json").json()
    responses: dict[str, Any] = document["paths"][path][method]["responses"]
    return responses


def test_known_answers_are_documented(client: TestClient) -> None:
    path = "/v1/audio/transcriptions/jobs"
    documented = _responses(client, path, "post")
    answers = {
        client.post(path).status_code,  # no key
        client.post(
            path, headers=_auth(client.app), files={"file": ("a.txt", b"no")}
        ).status_code,
        client.post(
            path,
            headers={
                **_auth(client.app),
                "Content-Type": "multipart/form-data; boundary=x",
            },
            content=b"--x\r\nbroken",
        ).status_code,
        client.post(
            path,
            headers=_auth(client.app),
            files={"file": ("a.flac", JFK.read_bytes())},
        ).status_code,
    }
    assert answers == {401, 415, 400, 201}
    assert answers <= {int(code) for code in documented}
    native = documented["415"]["content"]["application/json"]["schema"]["$ref"]
    assert native.endswith("/ErrorResponse")
    eleven = _responses(
        client, "/v1/speech-to-text/transcripts/{transcription_id}", "get"
    )
    assert eleven["404"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ElevenLabsError"
    )


def test_parse_errors_use_a_code_of_the_error_table(client: TestClient) -> None:
    response = client.post(
        "/v1/audio/transcriptions/jobs",
        headers={
            **_auth(client.app),
            "Content-Type": "multipart/form-data; boundary=x",
        },
        content=b"--x\r\nbroken",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_405_allows_every_method_of_the_path(client: TestClient) -> None:
    response = client.put("/v1/audio/transcriptions/some-id", headers=_auth(client.app))
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allowed
    assert response.json()["error"]["code"] == "method_not_allowed"
    # Allow names what is served: HEAD is not, here (it was listed and refused).
    assert "HEAD" not in allowed
    assert client.head("/v1/audio/transcriptions/some-id").status_code == 405


def test_the_probes_answer_head(client: TestClient) -> None:
    """Uptime monitors and load balancers often probe with HEAD."""
    for path in ("/health", "/ready"):
        response = client.head(path)
        assert response.status_code == client.get(path).status_code, path
        assert response.status_code in (200, 503) and not response.content, path
    assert client.head("/health").status_code == 200
    allowed = client.put("/health").headers["allow"]
    assert {m.strip() for m in allowed.split(",")} == {"GET", "HEAD"}
    # Not documented: the OpenAPI schema keeps one operation per probe.
    assert set(client.get("/openapi.json").json()["paths"]["/health"]) == {"get"}


def test_metrics_are_documented_as_prometheus_text(client: TestClient) -> None:
    documented = _responses(client, "/metrics", "get")
    assert list(documented["200"]["content"]) == ["text/plain"]
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
