"""Schema-driven fuzzing of a real embedded server from its own OpenAPI document (schemathesis):
for valid and invalid requests to every operation, fast-path routes included, no 5xx and no
answer slower than MAX_RESPONSE_SECONDS. Bounded: a few hundred requests in all."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.support.servers import running_server

MAX_RESPONSE_SECONDS = 2.0
EXAMPLES = 15  # per operation and mode (valid, invalid)
FAST_PATH = {("GET", "/tasks/next_scheduled"), ("PUT", "/task/{uid}")}


@pytest.fixture(scope="module", autouse=True)
def _no_proxy() -> Iterator[None]:
    """schemathesis sends with requests, which honours proxy variables: loopback goes direct."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
                patch.delenv(name)
        yield


@pytest.fixture(scope="module")
def fuzzed_server(_no_proxy, tmp_path_factory):
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


# -- hostile JSON on every write route ---------------------------------------------------------
# The schema-driven run sends well-formed text; this one sends what a schema does not
# describe: integers beyond 64 bits, NaN and infinities, lone surrogates, deep nesting.

TEXT = st.text(st.characters(codec=None) | st.characters(categories=["Cs"]), max_size=6)
SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30])
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3)
)
FIELD = st.sampled_from(["task", "priority", "eta", "kwargs.x", "uid", "a.b"]) | TEXT
OPERATOR = st.sampled_from(["$in", "$nin", "$gt", "$regex", "$ne", "$not", "$and", "$exists"])


def _bodies() -> st.SearchStrategy[tuple[str, str, Any]]:
    task = st.fixed_dictionaries(
        {"task": TEXT | JSON},
        optional={"priority": SCALAR, "kwargs": JSON, "args": JSON, "eta": SCALAR, "unique_key": SCALAR},
    )
    query = st.fixed_dictionaries(
        {},
        optional={
            "filter": st.dictionaries(FIELD, JSON | st.dictionaries(OPERATOR, JSON, max_size=2), max_size=2),
            "limit": SCALAR,
            "skip": SCALAR,
            "sort": TEXT,
            "status": TEXT,
        },
    )
    return st.one_of(
        st.tuples(st.just("POST"), st.just("/task"), task),
        st.tuples(st.just("PUT"), st.just("/task/fuzzed"), task),
        st.tuples(
            st.just("POST"),
            st.just("/event"),
            st.fixed_dictionaries({"name": TEXT}, optional={"payload": JSON}),
        ),
        st.tuples(st.just("PUT"), st.sampled_from(["/tasks/by_status", "/tasks/dump"]), query),
        st.tuples(st.just("PUT"), st.just("/tasks/by_task"), query.map(lambda q: {"task": "x", **q})),
    )


def test_hostile_json_on_write_routes_is_never_a_server_error(fuzzed_server) -> None:
    with httpx.Client(base_url=fuzzed_server.url, trust_env=False, timeout=30) as http:

        @given(request=_bodies())
        @settings(max_examples=300, deadline=None, derandomize=True, database=None)
        def fuzz(request: tuple[str, str, Any]) -> None:
            method, path, body = request
            content = json.dumps(body, allow_nan=True)  # NaN/Infinity and \\ud800 escapes as sent
            started = time.perf_counter()
            r = http.request(method, path, content=content, headers={"content-type": "application/json"})
            elapsed = time.perf_counter() - started
            assert r.status_code < 500, (method, path, content, r.text)
            assert elapsed < MAX_RESPONSE_SECONDS, (method, path, content, elapsed)
            r.json()  # always a JSON body

        fuzz()
