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

from eventix_cli.client.browse import NEWEST_FIRST, text_filter
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
    stored = [
        {
            "uid": f"t{i}",
            **{k: format_stored_time(v) if isinstance(v, dt.datetime) else v for k, v in doc.items()},
        }
        for i, doc in enumerate(docs)
    ]
    store.insert_all(stored, now)
    for i, doc in enumerate(docs):
        # mongomock holds datetimes as dates, as MongoDB does
        collection.insert_one(
            {
                "_id": f"t{i}",
                **{k: v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for k, v in doc.items()},
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


# -- the text filter of `eventix top` ------------------------------------------------------------

# letters with case (ASCII and not, with the special folds: long s, Kelvin sign, sharp s),
# every regex metacharacter, blanks and a control character. Not the Turkish dotted and
# dotless i (U+0130, U+0131): RE2 folds case by Unicode's simple case folding, as MongoDB's
# PCRE does, where neither has another case; mongomock's Python re also equates them with i/I.
FILTER_TEXT_ALPHABET = "aAbBkKsSäÄſKßẞ.*+?^$|()[]{}\\-#& \t\x01/"
SEARCHABLE = st.text(alphabet=FILTER_TEXT_ALPHABET, max_size=6)
ERROR_RESULT = st.builds(lambda cls, msg: {"error_class": cls, "error_message": msg}, SEARCHABLE, SEARCHABLE)
SEARCHED_DOCUMENT = st.fixed_dictionaries(
    {"created_time": st.sampled_from([dt.datetime(2030, 1, 1, s, tzinfo=dt.UTC) for s in range(3)])},
    optional={
        "task": SEARCHABLE,
        "unique_key": st.none() | SEARCHABLE,
        "result": st.none() | ERROR_RESULT | SEARCHABLE | st.lists(SEARCHABLE, max_size=2),
    },
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    docs=st.lists(SEARCHED_DOCUMENT, min_size=1, max_size=6),
    texts=st.lists(SEARCHABLE | st.sampled_from(["t1", "T2", "a.", "k", "s", "i"]), min_size=1, max_size=4),
)
def test_text_filter_of_top_selects_and_orders_as_mongomock(store, docs, texts) -> None:
    """The filter box's text (a literal, case-insensitive, over name, unique key, uid and
    error) selects the same tasks, in the same newest-first order, as on mongomock."""
    collection = _load(store, docs)
    for text in texts:
        query = text_filter(text) or {}
        order = [(name.lstrip("-"), -1 if name.startswith("-") else 1) for name in NEWEST_FIRST.split(",")]
        expected = [doc["_id"] for doc in collection.find(query, {"_id": 1}).sort(order)]
        got = [uid for uid, _doc in store.query(query, sort=NEWEST_FIRST)[0]]
        assert got == expected, (text, query, docs)
