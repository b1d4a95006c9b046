"""Compile the MongoDB query documents of the Eventix API into SQLite WHERE / ORDER BY clauses.

Supported: equality (scalars, ``null``, objects and arrays, and a scalar matching an array
element), ``$eq $ne $gt $gte $lt $lte $in $nin $regex ($options) $exists $not``, and the
logical ``$and $or $nor``, on any task field, dotted sub-fields and ``_id``. Anything else is
a :class:`FilterError`, never silently ignored.

Semantics follow MongoDB where the Eventix API depends on them:
- comparisons only match values of the same type bracket (numbers with numbers, strings with
  strings): ``{"priority": {"$gt": "a"}}`` matches nothing;
- datetimes are stored as dates upstream, so a JSON value never compares equal, greater or
  less to a datetime field (only ``null`` tests and ``$exists`` apply to them);
- ``$ne`` and ``$nin`` also match documents where the field is missing or of another type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: columns kept beside the JSON document (indexed, typed)
TEXT_COLUMNS = frozenset({"namespace", "status", "task", "unique_key", "worker_id"})
INT_COLUMNS = frozenset({"priority"})
DATETIME_FIELDS = frozenset({"eta", "scheduled", "created_time", "updated_time", "worker_expires", "expires"})
#: datetime fields that also have a column (sortable ISO text, fixed width)
DATETIME_COLUMNS = frozenset({"eta", "worker_expires", "expires", "created_time"})

COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
FIELD_OPERATORS = frozenset(
    {"$eq", "$ne", "$in", "$nin", "$regex", "$options", "$exists", "$not", *COMPARISONS}
)
LOGICAL_OPERATORS = frozenset({"$and", "$or", "$nor"})

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


class FilterError(ValueError):
    """The filter or sort cannot be run: an unsupported operator, a malformed value."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: str  # "text" | "int" | "datetime" | "json"
    column: str | None  # a column to use, else the JSON path in `doc`
    path: str

    @property
    def value_sql(self) -> str:
        return self.column or f"json_extract(doc, '{self.path}')"

    @property
    def type_sql(self) -> str:
        return f"json_type(doc, '{self.path}')"


def field(name: str) -> _Field:
    if name in ("_id", "uid"):
        return _Field("uid", "text", "uid", "$.uid")
    if not _FIELD_NAME.match(name):
        raise FilterError(f"unsupported field name {name!r}")
    path = "$." + ".".join(f'"{part}"' for part in name.split("."))
    if name in TEXT_COLUMNS:
        return _Field(name, "text", name, path)
    if name in INT_COLUMNS:
        return _Field(name, "int", name, path)
    if name in DATETIME_FIELDS:
        return _Field(name, "datetime", name if name in DATETIME_COLUMNS else None, path)
    return _Field(name, "json", None, path)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Compiler:
    def __init__(self) -> None:
        self.params: list[Any] = []

    def p(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    # -- equality ---------------------------------------------------------------------------

    def eq(self, f: _Field, value: Any) -> str:
        if value is None:
            if f.column:
                return f"{f.column} IS NULL"
            return f"({f.type_sql} IS NULL OR {f.type_sql} = 'null')"
        if f.kind == "datetime":
            return "0"
        if f.kind == "text":
            return f"{f.column} = {self.p(value)}" if isinstance(value, str) else "0"
        if f.kind == "int":
            return f"{f.column} = {self.p(value)}" if _is_number(value) else "0"
        return self._json_eq(f, value)

    def _json_eq(self, f: _Field, value: Any) -> str:
        if isinstance(value, bool):
            direct = f"{f.type_sql} = '{'true' if value else 'false'}'"
            element = f"value = {int(value)} AND type = '{'true' if value else 'false'}'"
        elif _is_number(value):
            direct = f"({f.type_sql} IN ('integer', 'real') AND {f.value_sql} = {self.p(value)})"
            element = f"type IN ('integer', 'real') AND value = {self.p(value)}"
        elif isinstance(value, str):
            direct = f"({f.type_sql} = 'text' AND {f.value_sql} = {self.p(value)})"
            element = f"type = 'text' AND value = {self.p(value)}"
        elif isinstance(value, dict | list):
            encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            kind = "object" if isinstance(value, dict) else "array"
            direct = f"({f.type_sql} = '{kind}' AND {f.value_sql} = json({self.p(encoded)}))"
            element = f"type = '{kind}' AND value = json({self.p(encoded)})"
        else:
            raise FilterError(f"unsupported value {value!r} for {f.name}")
        # MongoDB: a scalar (or object) also matches an array that contains it
        contains = (
            f"({f.type_sql} = 'array' AND EXISTS (SELECT 1 FROM json_each(doc, '{f.path}') WHERE {element}))"
        )
        return f"({direct} OR {contains})"

    # -- operators --------------------------------------------------------------------------

    def compare(self, f: _Field, op: str, value: Any) -> str:
        sql_op = COMPARISONS[op]
        if value is None:
            return self.eq(f, None) if op in ("$gte", "$lte") else "0"
        if f.kind == "datetime":
            return "0"  # a JSON value never orders against a stored date
        if _is_number(value):
            if f.kind == "text":
                return "0"
            if f.kind == "int":
                return f"{f.column} {sql_op} {self.p(value)}"
            return f"({f.type_sql} IN ('integer', 'real') AND {f.value_sql} {sql_op} {self.p(value)})"
        if isinstance(value, str):
            if f.kind == "int":
                return "0"
            if f.kind == "text":
                return f"{f.column} {sql_op} {self.p(value)}"
            return f"({f.type_sql} = 'text' AND {f.value_sql} {sql_op} {self.p(value)})"
        raise FilterError(f"{op} on {f.name} needs a number or a string, got {value!r}")

    def regex(self, f: _Field, pattern: Any, options: Any) -> str:
        if not isinstance(pattern, str):
            raise FilterError(f"$regex on {f.name} needs a string pattern, got {pattern!r}")
        if options is not None and (not isinstance(options, str) or set(options) - set("imsx")):
            raise FilterError(f"unsupported $options {options!r} (use i, m, s, x)")
        flags = options or ""
        try:
            re.compile(pattern)
        except re.error as exc:
            raise FilterError(f"invalid $regex {pattern!r}: {exc}") from None
        if f.kind in ("datetime", "int"):
            return "0"  # $regex only matches strings
        guard = "" if f.kind == "text" else f"{f.type_sql} = 'text' AND "
        target = f.value_sql
        return f"({guard}{target} IS NOT NULL AND regexp_match({self.p(pattern)}, {self.p(flags)}, {target}))"

    def exists(self, f: _Field, value: bool) -> str:
        # json_type is SQL NULL only for a missing path; a stored null is 'null' (and exists)
        present = f"{f.type_sql} IS NOT NULL"
        return present if value else f"{f.type_sql} IS NULL"

    def field_ops(self, f: _Field, ops: Mapping[str, Any]) -> str:
        unknown = [op for op in ops if op not in FIELD_OPERATORS]
        if unknown:
            raise FilterError(f"unsupported filter operator {unknown[0]} (on {f.name})")
        parts: list[str] = []
        for op, value in ops.items():
            if op == "$eq":
                parts.append(self.eq(f, value))
            elif op == "$ne":
                parts.append(f"NOT COALESCE({self.eq(f, value)}, 0)")
            elif op in COMPARISONS:
                parts.append(self.compare(f, op, value))
            elif op in ("$in", "$nin"):
                if not isinstance(value, list):
                    raise FilterError(f"{op} on {f.name} needs a list, got {value!r}")
                any_of = " OR ".join(self.eq(f, v) for v in value) or "0"
                parts.append(f"({any_of})" if op == "$in" else f"NOT COALESCE(({any_of}), 0)")
            elif op == "$regex":
                parts.append(self.regex(f, value, ops.get("$options")))
            elif op == "$options":
                if "$regex" not in ops:
                    raise FilterError(f"$options without $regex (on {f.name})")
            elif op == "$exists":
                parts.append(self.exists(f, bool(value)))
            elif op == "$not":
                if not isinstance(value, dict) or not value or not all(k.startswith("$") for k in value):
                    raise FilterError(f"$not on {f.name} needs an operator document")
                parts.append(f"NOT COALESCE({self.field_ops(f, value)}, 0)")
        return "(" + " AND ".join(parts) + ")" if parts else "1"

    # -- documents --------------------------------------------------------------------------

    def document(self, query: Mapping[str, Any]) -> str:
        if not isinstance(query, Mapping):
            raise FilterError(f"a filter must be an object, got {query!r}")
        parts: list[str] = []
        for key, value in query.items():
            if key in LOGICAL_OPERATORS:
                if not isinstance(value, list) or not value:
                    raise FilterError(f"{key} needs a non-empty list of filters")
                subs = [self.document(sub) for sub in value]
                if key == "$and":
                    parts.append("(" + " AND ".join(subs) + ")")
                elif key == "$or":
                    parts.append("(" + " OR ".join(subs) + ")")
                else:
                    parts.append("NOT COALESCE((" + " OR ".join(subs) + "), 0)")
            elif key.startswith("$"):
                raise FilterError(f"unsupported filter operator {key}")
            else:
                f = field(key)
                if isinstance(value, dict) and value and all(k.startswith("$") for k in value):
                    parts.append(self.field_ops(f, value))
                elif isinstance(value, dict) and any(k.startswith("$") for k in value):
                    raise FilterError(f"cannot mix operators and fields in the filter of {key}")
                else:
                    parts.append(self.eq(f, value))
        return "(" + " AND ".join(parts) + ")" if parts else "1"


def compile_filter(query: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """``(where_sql, params)`` for a MongoDB query document (``None`` or ``{}`` match all)."""
    compiler = _Compiler()
    sql = compiler.document(query or {})
    return sql, compiler.params


def compile_sort(sort: str | None, extra: Sequence[tuple[str, str]] = ()) -> str:
    """ORDER BY terms for ``"priority,-eta"``; ties keep insertion order, as MongoDB does."""
    terms: list[str] = [f"{expr} {direction}" for expr, direction in extra]
    for raw in (sort or "").split(","):
        item = raw.strip()
        if not item:
            continue
        descending = item.startswith("-")
        name = item.lstrip("+-").strip()
        f = field(name)
        terms.append(f"{f.value_sql} {'DESC' if descending else 'ASC'}")
    terms.append("rowid ASC")
    return ", ".join(terms)


def regexp_match(pattern: str, flags: str, value: Any) -> bool:
    """SQLite function behind ``$regex``: Python ``re.search`` with MongoDB's option letters."""
    if value is None:
        return False
    return _compiled(pattern, flags).search(str(value)) is not None


_CACHE: dict[tuple[str, str], re.Pattern[str]] = {}
_FLAG_BITS: dict[str, int] = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def _compiled(pattern: str, flags: str) -> re.Pattern[str]:
    key = (pattern, flags)
    found = _CACHE.get(key)
    if found is None:
        bits = 0
        for letter in flags:
            bits |= _FLAG_BITS[letter]
        if len(_CACHE) > 256:
            _CACHE.clear()
        found = _CACHE[key] = re.compile(pattern, bits)
    return found


SQL_FUNCTIONS: tuple[tuple[str, int, Callable[..., Any]], ...] = (("regexp_match", 3, regexp_match),)
