"""Schema-driven fuzzing of a real embedded server from its own OpenAPI document (schemathesis):
for valid and invalid requests to every operation, fast-path routes included, no 5xx and no
answer slower than MAX_RESPONSE_SECONDS. Bounded: a few hundred requests in all."""

from __future__ import annotations

import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.support.servers import running_server

MAX_RESPONSE_SECONDS = 2.0
EXAMPLES = 15  # per operation and mode (valid, invalid)
FAST_PATH = {("GET", "/tasks/next_scheduled"), ("PUT", "/task/{uid}")}


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory):
    with running_server("embedded", tmp_path_factory.mktemp("fuzz")) as srv:
        yield srv


@pytest.fixture(scope="module")
def fuzz_schema(fuzzed_server):
    return schemathesis.openapi.from_url(fuzzed_server.url + "/openapi.json")


def test_the_schema_lists_the_fast_path_routes(fuzzed_server) -> None:
    doc = httpx.get(fuzzed_server.url + "/openapi.json", trust_env=False).json()
    listed = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert listed >= FAST_PATH


def test_no_server_error_and_no_slow_answer(fuzz_schema) -> None:
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= FAST_PATH
    slowest: list[tuple[float, str]] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case) -> None:
                started = time.perf_counter()
                response = case.call(timeout=30)
                elapsed = time.perf_counter() - started
                case.validate_response(response, checks=[not_a_server_error])
                assert elapsed < MAX_RESPONSE_SECONDS, f"{case.method} {case.path} took {elapsed:.2f}s"
                slowest.append((elapsed, f"{case.method} {case.path}"))

            try:
                fuzz()
            except Unsatisfiable:
                # an operation without parameters or body has no invalid request
                assert mode is GenerationMode.NEGATIVE, operation.path
    assert len(slowest) > 10 * len(operations)  # the run really sent requests
