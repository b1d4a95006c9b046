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
- ``$ne`` and ``$nin`` also match documents where the field is missing or of another type;
- a value, a comparison or a ``$regex`` also matches an array field holding a matching
  element; ``null`` matches a missing field, a null, or an array holding null;
- ``$in``/``$nin`` lists of any length are one parameter each (a JSON array read with
  ``json_each``), and AND/OR terms are joined as balanced trees, so wide filters stay within
  SQLite's expression depth; nesting is limited by :data:`MAX_FILTER_DEPTH`.

The reference for these semantics is mongomock, the store under the upstream reference server (see
``tests/server/test_filters_differential.py``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventix_cli.core.fields import TIME_FIELDS
from eventix_cli.core.jsonrules import fits_int64
from eventix_cli.server.errors import FilterError
from eventix_cli.server.patterns import MAX_FILTER_PATTERNS, compile_regex, regexp_match

#: columns kept beside the JSON document (indexed, typed)
TEXT_COLUMNS = frozenset({"namespace", "status", "task", "unique_key", "worker_id"})
INT_COLUMNS = frozenset({"priority"})
#: datetime fields that also have a column (sortable ISO text, fixed width)
DATETIME_COLUMNS = frozenset({"eta", "worker_expires", "expires", "created_time"})

COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
FIELD_OPERATORS = frozenset(
    {"$eq", "$ne", "$in", "$nin", "$regex", "$options", "$exists", "$not", *COMPARISONS}
)
LOGICAL_OPERATORS = frozenset({"$and", "$or", "$nor"})

#: the deepest nesting of $and/$or/$nor/$not in a filter (SQLite's parser and expression
#: depth bound what one query can hold; wide lists are fine, see _join)
MAX_FILTER_DEPTH = 20
#: SQLite's parser overflows near 70-80 nested parentheses; compiled filters stay below this
MAX_SQL_DEPTH = 64
#: SQL parameters one filter may bind (SQLite's own limit is 32766); a $in list is one
MAX_FILTER_PARAMS = 20_000

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


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
    if name in TIME_FIELDS:
        return _Field(name, "datetime", name if name in DATETIME_COLUMNS else None, path)
    return _Field(name, "json", None, path)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Compiler:
    def __init__(self) -> None:
        self.params: list[Any] = []
        self.patterns: set[tuple[str, str]] = set()

    def p(self, value: Any) -> str:
        if isinstance(value, int) and not fits_int64(value):
            raise FilterError(f"the integer {value} does not fit in 64 bits")
        if isinstance(value, float) and not math.isfinite(value):
            raise FilterError(f"{value} is not a number the filter can compare")
        self.params.append(value)
        return "?"

    def p_json(self, values: list[Any]) -> str:
        for value in values:
            self.p(value)  # the same checks
            self.params.pop()
        return self.p(json.dumps(values, separators=(",", ":"), ensure_ascii=False))

    # -- equality ---------------------------------------------------------------------------

    def eq(self, f: _Field, value: Any) -> str:
        return self.any_of(f, [value])

    def any_of(self, f: _Field, values: list[Any]) -> str:
        """The field equals one of ``values`` (MongoDB ``$in``; ``$eq`` is a list of one). A
        list of any length is one parameter (a JSON array read by ``json_each``)."""
        kinds = _by_kind(values)
        parts: list[str] = []
        if f.column:
            if "null" in kinds:
                parts.append(f"{f.column} IS NULL")
            wanted = {"text": "text", "int": "number"}.get(f.kind)
            if wanted in kinds:
                parts.append(self._member(f.column, kinds[wanted]))
        elif f.kind == "datetime":
            if "null" in kinds:
                parts.append(f"({f.type_sql} IS NULL OR {f.type_sql} = 'null')")
        else:
            direct = self._json_any_of(f.type_sql, f.value_sql, kinds)
            if direct:
                parts.append(direct)
                # MongoDB: a value also matches an array that contains it
                element = self._json_any_of("e.type", "e.value", kinds)
                parts.append(
                    f"({f.type_sql} = 'array' AND EXISTS "
                    f"(SELECT 1 FROM json_each(doc, '{f.path}') AS e WHERE {element}))"
                )
            if "null" in kinds:
                parts.append(self._json_null(f))
        return _join(parts, "OR")

    def _json_null(self, f: _Field) -> str:
        """MongoDB's ``null``: the field is null, missing, or an array holding null."""
        in_array = f"EXISTS (SELECT 1 FROM json_each(doc, '{f.path}') AS e WHERE e.type = 'null')"
        return f"({f.type_sql} IS NULL OR {f.type_sql} = 'null' OR ({f.type_sql} = 'array' AND {in_array}))"

    def _member(self, sql: str, values: list[Any]) -> str:
        if len(values) == 1:
            return f"{sql} = {self.p(values[0])}"
        return f"{sql} IN (SELECT value FROM json_each({self.p_json(values)}))"

    def _json_any_of(self, type_sql: str, value_sql: str, kinds: dict[str, list[Any]]) -> str:
        parts: list[str] = []
        if "number" in kinds:
            parts.append(
                f"({type_sql} IN ('integer', 'real') AND {self._member(value_sql, kinds['number'])})"
            )
        if "text" in kinds:
            parts.append(f"({type_sql} = 'text' AND {self._member(value_sql, kinds['text'])})")
        for name in ("true", "false"):
            if name in kinds:
                parts.append(f"{type_sql} = '{name}'")
        for name in ("object", "array"):
            if name in kinds:
                encoded = [json.dumps(v, separators=(",", ":"), ensure_ascii=False) for v in kinds[name]]
                for value in kinds[name]:
                    _check_values(value)
                # json() puts both sides in SQLite's own minified form
                parts.append(
                    f"({type_sql} = '{name}' AND {value_sql} IN "
                    f"(SELECT json(value) FROM json_each({self.p(json.dumps(encoded))})))"
                )
        return _join(parts, "OR") if parts else ""

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
            return self._json_or_element(
                f, lambda t, v: f"({t} IN ('integer', 'real') AND {v} {sql_op} ?)", value
            )
        if isinstance(value, str):
            if f.kind == "int":
                return "0"
            if f.kind == "text":
                return f"{f.column} {sql_op} {self.p(value)}"
            return self._json_or_element(f, lambda t, v: f"({t} = 'text' AND {v} {sql_op} ?)", value)
        raise FilterError(f"{op} on {f.name} needs a number or a string, got {value!r}")

    def _json_or_element(self, f: _Field, test: Callable[[str, str], str], *values: Any) -> str:
        """``test`` on the field's value, or on any element when the field is an array
        (MongoDB). ``test`` takes the type and value SQL and has one ``?`` per value."""
        direct = test(f.type_sql, f.value_sql)
        element = test("e.type", "e.value")
        for value in (*values, *values):
            self.p(value)
        return (
            f"({direct} OR ({f.type_sql} = 'array' AND EXISTS "
            f"(SELECT 1 FROM json_each(doc, '{f.path}') AS e WHERE {element})))"
        )

    def regex(self, f: _Field, pattern: Any, options: Any) -> str:
        if not isinstance(pattern, str):
            raise FilterError(f"$regex on {f.name} needs a string pattern, got {pattern!r}")
        if options is not None and (not isinstance(options, str) or set(options) - set("imsx")):
            raise FilterError(f"unsupported $options {options!r} (use i, m, s, x)")
        flags = "".join(sorted(set(options or "")))
        compile_regex(pattern, flags)  # a bad pattern is refused here, before the query runs
        self.patterns.add((pattern, flags))
        if len(self.patterns) > MAX_FILTER_PATTERNS:
            raise FilterError(f"a filter may hold at most {MAX_FILTER_PATTERNS} different $regex patterns")
        if f.kind in ("datetime", "int"):
            return "0"  # $regex only matches strings
        if f.kind == "text":
            return (
                f"({f.column} IS NOT NULL AND regexp_match({self.p(pattern)}, {self.p(flags)}, {f.column}))"
            )
        return self._json_or_element(
            f, lambda t, v: f"({t} = 'text' AND regexp_match(?, ?, {v}))", pattern, flags
        )

    def exists(self, f: _Field, value: bool) -> str:
        # json_type is SQL NULL only for a missing path; a stored null is 'null' (and exists)
        present = f"{f.type_sql} IS NOT NULL"
        return present if value else f"{f.type_sql} IS NULL"

    def field_ops(self, f: _Field, ops: Mapping[str, Any], depth: int) -> str:
        unknown = [op for op in ops if op not in FIELD_OPERATORS]
        if unknown:
            raise FilterError(f"unsupported filter operator {unknown[0]} (on {f.name})")
        parts: list[str] = []
        for op, value in ops.items():
            if op == "$eq":
                parts.append(self.eq(f, value))
            elif op == "$ne":
                parts.append(_negate(self.eq(f, value)))
            elif op in COMPARISONS:
                parts.append(self.compare(f, op, value))
            elif op in ("$in", "$nin"):
                if not isinstance(value, list):
                    raise FilterError(f"{op} on {f.name} needs a list, got {value!r}")
                any_of = self.any_of(f, value)
                parts.append(any_of if op == "$in" else _negate(any_of))
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
                _check_depth(depth + 1)
                parts.append(_negate(self.field_ops(f, value, depth + 1)))
        return _join(parts, "AND")

    # -- documents --------------------------------------------------------------------------

    def document(self, query: Mapping[str, Any], depth: int = 0) -> str:
        if not isinstance(query, Mapping):
            raise FilterError(f"a filter must be an object, got {query!r}")
        parts: list[str] = []
        for key, value in query.items():
            if key in LOGICAL_OPERATORS:
                if not isinstance(value, list) or not value:
                    raise FilterError(f"{key} needs a non-empty list of filters")
                _check_depth(depth + 1)
                subs = [self.document(sub, depth + 1) for sub in value]
                if key == "$and":
                    parts.append(_join(subs, "AND"))
                elif key == "$or":
                    parts.append(_join(subs, "OR"))
                else:
                    parts.append(_negate(_join(subs, "OR")))
            elif key.startswith("$"):
                raise FilterError(f"unsupported filter operator {key}")
            else:
                f = field(key)
                if isinstance(value, dict) and value and all(k.startswith("$") for k in value):
                    parts.append(self.field_ops(f, value, depth))
                elif isinstance(value, dict) and any(k.startswith("$") for k in value):
                    raise FilterError(f"cannot mix operators and fields in the filter of {key}")
                else:
                    parts.append(self.eq(f, value))
        return _join(parts, "AND")


def _by_kind(values: list[Any]) -> dict[str, list[Any]]:
    kinds: dict[str, list[Any]] = {}
    for value in values:
        if value is None:
            kind = "null"
        elif isinstance(value, bool):
            kind = "true" if value else "false"
        elif _is_number(value):
            kind = "number"
        elif isinstance(value, str):
            kind = "text"
        elif isinstance(value, dict):
            kind = "object"
        elif isinstance(value, list):
            kind = "array"
        else:
            raise FilterError(f"unsupported value {value!r}")
        kinds.setdefault(kind, []).append(value)
    return kinds


def _check_values(value: Any) -> None:
    """Integers in an object or array compared whole must fit in 64 bits too."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and not fits_int64(item):
            raise FilterError(f"the integer {item} does not fit in 64 bits")
        elif isinstance(item, float) and not math.isfinite(item):
            raise FilterError(f"{item} is not a number the filter can compare")


def _check_depth(depth: int) -> None:
    if depth > MAX_FILTER_DEPTH:
        raise FilterError(
            f"filter nested deeper than {MAX_FILTER_DEPTH} levels of $and/$or/$nor/$not (MAX_FILTER_DEPTH)"
        )


def _join(parts: list[str], op: str) -> str:
    """``parts`` joined by AND/OR as a balanced tree: SQLite limits an expression's depth
    (1000), and a flat chain of N terms is N deep; balanced, it is log2(N) deep."""
    if not parts:
        return "1" if op == "AND" else "0"
    if len(parts) == 1:
        return _wrap(parts[0])
    if len(parts) <= 8:
        return "(" + f" {op} ".join(_wrap(part) for part in parts) + ")"
    middle = len(parts) // 2
    return f"({_join(parts[:middle], op)} {op} {_join(parts[middle:], op)})"


def _negate(sql: str) -> str:
    """True where ``sql`` is false or NULL (a missing field): MongoDB's $ne/$nin/$not/$nor."""
    return f"({_wrap(sql)} IS NOT 1)"


def _wrap(sql: str) -> str:
    """``sql`` in parentheses, unless it already is wholly: SQLite's parser has a small
    stack (about 100 entries), so every needless parenthesis costs filter depth."""
    if sql.startswith("(") and sql.endswith(")"):
        depth = 0
        for i, char in enumerate(sql):
            depth += char == "("
            depth -= char == ")"
            if depth == 0:
                if i == len(sql) - 1:
                    return sql
                break
    return f"({sql})"


def sql_depth(sql: str) -> int:
    """The deepest parenthesis nesting in ``sql`` (no literal in it holds a parenthesis)."""
    depth = deepest = 0
    for char in sql:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


def compile_filter(query: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """``(where_sql, params)`` for a MongoDB query document (``None`` or ``{}`` match all)."""
    compiler = _Compiler()
    sql = compiler.document(query or {})
    if sql_depth(sql) > MAX_SQL_DEPTH:  # a safety net: MAX_FILTER_DEPTH keeps well below it
        raise FilterError(
            f"filter too deeply nested (at most {MAX_FILTER_DEPTH} levels of $and/$or/$nor/$not)"
        )
    if len(compiler.params) > MAX_FILTER_PARAMS:
        raise FilterError(
            f"filter too large: {len(compiler.params)} values outside $in/$nin lists"
            f" (at most {MAX_FILTER_PARAMS})"
        )
    return sql, compiler.params


def compile_sort(sort: str | None, extra: Sequence[tuple[str, str]] = ()) -> str:
    """ORDER BY terms for ``"priority,-eta"``; ties keep insertion order, as MongoDB does. A
    sort by uid has no ties, so nothing follows it (and an index ending in uid gives the order)."""
    terms: list[str] = [f"{expr} {direction}" for expr, direction in extra]
    for raw in (sort or "").split(","):
        item = raw.strip()
        if not item:
            continue
        descending = item.startswith("-")
        name = item.lstrip("+-").strip()
        f = field(name)
        terms.append(f"{f.value_sql} {'DESC' if descending else 'ASC'}")
        if f.column == "uid":
            return ", ".join(terms)
    terms.append("rowid ASC")
    return ", ".join(terms)


SQL_FUNCTIONS: tuple[tuple[str, int, Callable[..., Any]], ...] = (("regexp_match", 3, regexp_match),)
