"""Property-based API test: schemathesis generates requests from the OpenAPI schema (valid and
invalid), sends them with a real user's token, and checks that no answer is a 5xx and every
answer matches the documented schema. Bounded: a few examples per operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from foundation import config
from generation_service.app import create_app
from generation_service.bootstrap import build_service

MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("schemathesis")
    mp = pytest.MonkeyPatch()
    mp.setenv("IMAGIFY_HOME", str(home))
    mp.setenv("IMAGIFY_ARGON2_TIME_COST", "1")
    mp.setenv("IMAGIFY_ARGON2_MEMORY_KIB", "64")
    mp.setenv("IMAGIFY_SIGNUP_CREDITS", "100000")
    mp.setenv("IMAGIFY_RATE_LIMIT", "1000000")
    mp.delenv("REDIS_URL", raising=False)
    settings_ = config.load()
    service = build_service(settings_, relay_flush_s=0.2)
    app = create_app(settings_, service, manage_service=False)
    service.start()
    from fastapi.testclient import TestClient

    client = TestClient(app)
    creds = {"email": "fuzz@example.com", "password": "fuzz password for schemathesis"}
    client.post("/v1/auth/register", json=creds)
    token = client.post("/v1/auth/login", json=creds).json()
    try:
        yield app, {"Authorization": f"Bearer {token['access_token']}"}
    finally:
        service.stop()
        mp.undo()


@pytest.fixture(scope="module")
def api_schema(api_app: tuple[object, dict[str, str]]) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app[0])
    # valid and invalid requests (wrong types, missing fields, out-of-range values)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_5xx_and_responses_match_the_schema(case: schemathesis.Case, api_app: tuple[object, dict]) -> None:
    headers = dict(case.headers or {})
    headers.setdefault("Authorization", api_app[1]["Authorization"])
    case.call_and_validate(
        headers=headers, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )
