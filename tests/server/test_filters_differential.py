"""The filter compiler against mongomock (the store under the upstream reference server):
random task documents and random filters of every supported operator must select the same
tasks. Bounded (examples, deadline) so that it runs in seconds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import mongomock
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventix_cli.core.times import format_stored_time
from eventix_cli.server.store import TaskStore

# -- documents -----------------------------------------------------------------------------------

TEXT = st.text(alphabet="abAB ", max_size=3)
# no 0 or 1: mongomock compares with Python's ==, where True == 1 and False == 0; MongoDB
# (and the compiler) keep booleans and numbers apart
INTEGER = st.sampled_from([-3, -2, -1, 2, 3])
NUMBER = INTEGER | st.sampled_from([0.5, -1.5, 2.0])
SCALAR = st.none() | st.booleans() | NUMBER | TEXT
# arrays of scalars and objects of scalars (dotted paths through arrays of objects are not
# supported by the compiler, so documents do not put objects inside arrays)
OBJECT = st.fixed_dictionaries({}, optional={"b": SCALAR | st.lists(SCALAR, max_size=2)})
VALUE = SCALAR | st.lists(SCALAR, max_size=3) | OBJECT
MOMENT = st.datetimes(min_value=dt.datetime(2030, 1, 1), max_value=dt.datetime(2030, 1, 3)).map(
    lambda d: d.replace(microsecond=0, tzinfo=dt.UTC)
)

DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        "task": TEXT,
        "status": st.sampled_from(["scheduled", "done", "error"]),
        "priority": INTEGER,
        "eta": MOMENT,
        "scheduled": MOMENT,
        # "a.b" only through an object: where a parent is null or a scalar, mongomock's
        # {"a.b": null} and {"a.b": {"$not": {"$eq": null}}} disagree with each other
        "a": OBJECT,
        "c": VALUE,
    },
)

# -- filters -------------------------------------------------------------------------------------

FIELDS = st.sampled_from(["task", "status", "priority", "eta", "scheduled", "a", "a.b", "c", "missing"])
FILTER_VALUE = SCALAR | st.lists(SCALAR, max_size=2) | st.fixed_dictionaries({"b": SCALAR})
# not null: mongomock's {"$gte": null} skips missing fields, MongoDB's does not
ORDERED = NUMBER | TEXT
PATTERNS = st.sampled_from(["a", "^a", "b$", "^$", "A", "a b", "^(a|b)+$", "[ab]{2}", "a.b"])
OPTIONS = st.sampled_from(["", "i", "m", "s", "ims"])


def operator_docs() -> st.SearchStrategy[dict[str, Any]]:
    simple = st.one_of(
        st.builds(lambda v: {"$eq": v}, FILTER_VALUE),
        st.builds(lambda v: {"$ne": v}, FILTER_VALUE),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), ORDERED),
        st.builds(lambda v: {"$in": v}, st.lists(FILTER_VALUE, max_size=4)),
        st.builds(lambda v: {"$nin": v}, st.lists(FILTER_VALUE, max_size=4)),
        st.builds(lambda v: {"$exists": v}, st.booleans()),
        st.builds(lambda p, o: {"$regex": p, "$options": o} if o else {"$regex": p}, PATTERNS, OPTIONS),
    )
    # mongomock does not take $options inside $not (MongoDB does)
    negatable = simple.filter(lambda ops: "$options" not in ops)
    return simple | st.builds(lambda inner: {"$not": inner}, negatable)


LEAF = st.builds(lambda name, cond: {name: cond}, FIELDS, FILTER_VALUE | operator_docs())
FILTERS = st.recursive(
    LEAF,
    lambda inner: st.builds(
        lambda op, subs: {op: subs},
        st.sampled_from(["$and", "$or", "$nor"]),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def store():
    s = TaskStore(":memory:")
    yield s
    s.close()


def _load(store: TaskStore, docs: list[dict[str, Any]]) -> mongomock.collection.Collection:
    collection = mongomock.MongoClient().db.tasks
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with store.transaction() as db:
        db.execute("DELETE FROM tasks")
        for i, doc in enumerate(docs):
            uid = f"t{i}"
            stored = {k: format_stored_time(v) if isinstance(v, dt.datetime) else v for k, v in doc.items()}
            store._insert({"uid": uid, **stored}, now)
            # mongomock holds datetimes as dates, as MongoDB does
            collection.insert_one(
                {
                    "_id": uid,
                    **{
                        k: v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for k, v in doc.items()
                    },
                }
            )
    return collection


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(docs=st.lists(DOCUMENT, min_size=1, max_size=6), filters=st.lists(FILTERS, min_size=1, max_size=4))
def test_filters_select_what_mongomock_selects(store, docs, filters) -> None:
    collection = _load(store, docs)
    for query in filters:
        expected = sorted(doc["_id"] for doc in collection.find(query, {"_id": 1}))
        got = sorted(uid for uid, _doc in store.query(query)[0])
        assert got == expected, (query, docs)


FIXED_DOCS = [
    {},
    {"a": {"b": 1}, "c": None},
    {"a": {}, "c": [1, None, "x"]},
    {"c": 5, "task": "t", "priority": 2},
    {"c": [[1, 2], {"b": 1}], "status": "done"},
]


@pytest.mark.parametrize(
    "query",
    [
        {"c": {"$nin": [5]}},
        {"c": {"$nin": [None]}},
        {"missing": {"$nin": ["x"]}},
        {"task": {"$nin": ["t"]}},
        {"priority": {"$nin": [2]}},
        {"c": {"$not": {"$gt": 1}}},
        {"c": {"$not": {"$in": [None, 5]}}},
        {"a.b": {"$not": {"$eq": 1}}},
        {"status": {"$not": {"$regex": "^d"}}},
        {"c": {"$in": [None]}},
        {"c": None},
        {"c": [1, 2]},
        {"c": {"b": 1}},
        {"c": {"$regex": "x"}},
        {"c": {"$gte": 1}},
        {"$nor": [{"c": 5}, {"a.b": 1}]},
    ],
)
def test_missing_null_and_array_fields_as_mongomock(store, query) -> None:
    collection = _load(store, FIXED_DOCS)
    expected = sorted(doc["_id"] for doc in collection.find(query, {"_id": 1}))
    assert sorted(uid for uid, _doc in store.query(query)[0]) == expected
