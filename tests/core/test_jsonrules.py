"""One set of strict-JSON rules, applied alike by the command line, the client and the server."""

from __future__ import annotations

import json

import pytest

from eventix_cli.core.errors import UnsendableValue, UsageError
from eventix_cli.core.jsonrules import (
    MAX_JSON_DEPTH,
    NotAJsonNumber,
    encode_json,
    finite_float,
    loads,
    reject_constant,
    uid_refusal,
    unstorable_reason,
)
from eventix_cli.server.validation import BodyRefused, check_body


@pytest.mark.parametrize(
    ("text", "user_message", "server_message"),
    [
        (
            '{"x": NaN}',
            "value: NaN is not a JSON number, and no server can store it",
            "NaN is not a JSON number",
        ),
        (
            "[-Infinity]",
            "value: -Infinity is not a JSON number, and no server can store it",
            "-Infinity is not a JSON number",
        ),
        (
            "[1e999]",
            "value: 1e999 is too large for a JSON number (it overflows to infinity)",
            "1e999 is too large for a JSON number (64-bit float)",
        ),
    ],
)
def test_a_number_no_server_stores_is_refused_on_every_way_in(text, user_message, server_message) -> None:
    with pytest.raises(UsageError) as user:
        loads(text, "value")
    assert str(user.value) == user_message
    with pytest.raises(BodyRefused) as server:
        check_body(text.encode())
    assert server.value.errors[0]["msg"] == server_message
    with pytest.raises(UnsendableValue, match="not JSON numbers"):
        encode_json(json.loads(text))  # Python's own parser lets it through; sending refuses it


def test_the_parser_hooks_take_every_finite_number() -> None:
    assert finite_float("1.5e300") == 1.5e300
    with pytest.raises(NotAJsonNumber) as exc:
        finite_float("-1e400")
    assert (exc.value.literal, exc.value.overflows) == ("-1e400", True)
    with pytest.raises(NotAJsonNumber) as exc:
        reject_constant("Infinity")
    assert (exc.value.literal, exc.value.overflows) == ("Infinity", False)


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_the_depth_limit_is_one_number() -> None:
    assert unstorable_reason(_nested(MAX_JSON_DEPTH)) is None
    assert unstorable_reason(_nested(MAX_JSON_DEPTH + 1)) == (
        f"JSON nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)"
    )


@pytest.mark.parametrize("value", [{"k": "a\ud800"}, {"a\udfff": 1}, ["x", ["\udc80"]]])
def test_a_lone_surrogate_is_refused_by_client_and_server(value) -> None:
    assert unstorable_reason(value) == "text with a lone surrogate (not valid Unicode)"
    with pytest.raises(UnsendableValue, match="not valid Unicode text"):
        encode_json(value)


@pytest.mark.parametrize(
    "uid", ["3f2a9c0e8d7b4a1f9e6d5c4b3a291807", "a", ".", "..", "%2F", "a\\b", "a b", "x:y"]
)
def test_a_uid_that_is_one_path_segment_names_a_task(uid) -> None:
    assert uid_refusal(uid) is None


@pytest.mark.parametrize(
    ("uid", "message"),
    [
        ("", "uid must not be empty"),
        ("a/b", "uid 'a/b' cannot name a task: it holds '/'"),
        ("/", "uid '/' cannot name a task"),
        ("ab/", "uid 'ab/' cannot name a task"),
    ],
)
def test_a_uid_no_task_path_can_carry_is_refused(uid, message) -> None:
    reason = uid_refusal(uid)
    assert reason is not None
    assert reason.startswith(message), reason
