"""core/edits: what `task retry --set` and `--edit` accept, and the document a retry writes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventix_cli.core.edits import (
    FieldEdit,
    apply_edits,
    changed_fields,
    edits_from_arguments,
    parse_edit,
    parse_edits,
    rescheduled,
)
from eventix_cli.core.errors import UsageError
from eventix_cli.core.fields import new_task_document

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _failed() -> dict:
    doc = new_task_document({"task": "job", "args": [1], "kwargs": {"a": 1, "b": "x"}, "priority": -2}, NOW)
    return doc | {
        "status": "error",
        "worker_id": "w1",
        "worker_expires": "2026-03-01T12:05:00Z",
        "revision": "3-abc",
        "result": {"error_class": "ValueError"},
    }


def test_each_field_is_read_as_task_add_reads_it() -> None:
    assert parse_edit("kwargs.invoice_id=4711") == FieldEdit("kwargs", 4711, "invoice_id")
    assert parse_edit("kwargs.name=plain text") == FieldEdit("kwargs", "plain text", "name")
    assert parse_edit('kwargs.opts={"x": [1]}') == FieldEdit("kwargs", {"x": [1]}, "opts")
    assert parse_edit('args=[1, "a"]') == FieldEdit("args", [1, "a"])
    assert parse_edit('kwargs={"a": 2}') == FieldEdit("kwargs", {"a": 2})
    assert parse_edit("priority=5") == FieldEdit("priority", -5)  # stored negated
    assert parse_edit("eta=+10m", NOW) == FieldEdit("eta", "2026-03-01T12:10:00Z")
    assert parse_edit("eta=2026-04-01T00:00:00") == FieldEdit("eta", "2026-04-01T00:00:00Z")


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("status=done", "unknown field"),
        ("kwarg.x=1", "only kwargs takes a key"),
        ("uid=abc", "unknown field"),
        ("kwargs.a.b=1", "one keyword name"),
        ("kwargs.=1", "one keyword name"),
        ("priority.x=1", "only kwargs takes a key"),
        ("args=[1,", "invalid JSON"),
        ("args={}", "expected a JSON array"),
        ("kwargs=[1]", "expected a JSON object"),
        ("args=[NaN]", "not a JSON number"),
        ("priority=high", "not an integer"),
        ("priority=9223372036854775808", "out of range"),
        ("eta=tomorrow", "invalid time"),
        ("kwargs.x", "expected FIELD=VALUE"),
        ("=1", "expected FIELD=VALUE"),
        ("kwargs.deep=" + "[" * 99 + "]" * 99, "nest"),
        ("args=" + "[" * 100 + "]" * 100, "nest"),
        ("kwargs.big=18446744073709551616", "64"),
    ],
)
def test_bad_edits_are_usage_errors(spec: str, says: str) -> None:
    with pytest.raises(UsageError, match=says) as info:
        parse_edit(spec)
    assert "\n" not in info.value.message


def test_a_field_set_twice_or_kwargs_whole_and_by_key_is_refused() -> None:
    with pytest.raises(UsageError, match="given twice"):
        parse_edits(["priority=1", "priority=2"])
    with pytest.raises(UsageError, match="not both"):
        parse_edits(['kwargs={"a": 1}', "kwargs.b=2"])
    assert len(parse_edits(["kwargs.a=1", "kwargs.b=2", "priority=1"])) == 3
    assert parse_edit("kwargs.deep=" + "[" * 98 + "]" * 98).key == "deep"  # the deepest a server stores
    assert parse_edit("args=" + "[" * 99 + "]" * 99).field == "args"


def test_rescheduled_resets_what_the_servers_reschedule_resets() -> None:
    before = _failed()
    after = rescheduled(before, NOW + dt.timedelta(minutes=1))
    assert (after["status"], after["eta"], after["worker_id"]) == ("scheduled", "2026-03-01T12:01:00Z", None)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"status", "eta", "worker_id"}  # the result, the lease, the revision stay
    assert rescheduled(before, NOW, release_claim=True)["worker_expires"] is None
    assert before["status"] == "error"  # the before-image is not touched


def test_edits_apply_after_the_reschedule_and_keep_other_kwargs() -> None:
    before = _failed()
    edits = parse_edits(["kwargs.b=y", "kwargs.c=[1]", "eta=2026-05-01T00:00:00Z", "priority=7"])
    after = apply_edits(rescheduled(before, NOW), edits)
    assert after["kwargs"] == {"a": 1, "b": "y", "c": [1]}
    assert after["eta"] == "2026-05-01T00:00:00Z"  # an eta edit wins over the reschedule's
    assert after["priority"] == -7
    assert before["kwargs"] == {"a": 1, "b": "x"}
    assert changed_fields(before, after, edits) == [
        {"field": "kwargs.b", "before": "x", "after": "y"},
        {"field": "kwargs.c", "before": None, "after": [1]},
        {"field": "eta", "before": before["eta"], "after": "2026-05-01T00:00:00Z"},
        {"field": "priority", "before": 2, "after": 7},  # shown logical
    ]


def test_an_edited_arguments_document_must_have_exactly_args_and_kwargs() -> None:
    assert edits_from_arguments({"args": [], "kwargs": {"a": 1}}, "f") == (
        FieldEdit("args", []),
        FieldEdit("kwargs", {"a": 1}),
    )
    for bad, says in (
        ([], "exactly the keys"),
        ({"args": []}, "exactly the keys"),
        ({"args": {}, "kwargs": {}}, "args must be a JSON array"),
        ({"args": [], "kwargs": []}, "kwargs must be a JSON object"),
    ):
        with pytest.raises(UsageError, match=says):
            edits_from_arguments(bad, "f")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(_json)
def test_a_kwarg_value_typed_as_json_is_set_as_that_value(value) -> None:
    edit = parse_edit("kwargs.k=" + json.dumps(value))
    assert edit.value == value
    assert apply_edits({"kwargs": {}}, [edit])["kwargs"] == {"k": value}
