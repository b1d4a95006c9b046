"""EventixClient: one typed method per endpoint of the Eventix REST API.

The client knows HTTP and the wire format, nothing about terminals. How a request is sent
(the deadline, retries, error mapping) is :mod:`eventix_cli.client.sender`'s; what goes out and comes
back is :mod:`eventix_cli.client.wire`'s. Every failure is an exception from :mod:`eventix_cli.core.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventix_cli.client.sender import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from eventix_cli.client.sender import HttpSender
from eventix_cli.client.sender import redact_headers as redact_headers
from eventix_cli.client.wire import (
    check_task_id,
    decode_json,
    decode_model,
    expect,
    invalid,
    segment,
    task_segment,
)
from eventix_cli.core.errors import InvalidResponse, ServerError, TaskNotFound, UnreadableTask, UsageError
from eventix_cli.core.view import TaskView, view_of

if TYPE_CHECKING:
    import datetime as dt

    from eventix_cli.client.answer import Answer
    from eventix_cli.core.task import Event, Task, TaskStatus

DEFAULT_PAGE_SIZE = 500


#: uids asked for in one listing request by :meth:`EventixClient.pages_by_uid`
UIDS_PER_REQUEST = 200


class EventixClient(HttpSender):
    """A client for one Eventix server.

    Args:
        base_url: the server's base URL, e.g. ``http://127.0.0.1:8000``.
        token: sent as ``Authorization: Bearer <token>`` when given.
        timeout: seconds for a whole call (connect, send, read, and any retries).
        verify: TLS verification: ``True`` (SSL_CERT_FILE / SSL_CERT_DIR when set, else the
            system trust store and certifi), ``False``, or the path of a CA bundle.
        transport: an httpx transport (tests inject ``httpx.MockTransport``).
        retries: how many times an idempotent request is repeated after a connection failure.
        backoff: first backoff delay in seconds; doubles per attempt up to ``backoff_max``.
        max_connections: connections kept open per host (opened only when that many requests
            run at once; the default covers the largest --concurrency).
        models: read every task through the pydantic model at once, for a caller that edits
            what it reads (the worker: one validation in Rust per answer, where a check of the
            canonical form first would add ~20 µs); by default a task in canonical form is read
            without pydantic. Either way a method returns :class:`~eventix_cli.core.view.TaskView`.
    """

    # -- server -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /healthz``: the server's health document, ``{"status": "healthy"}`` when well.

        A 503 that carries a health document (``{"status": "unhealthy", "reason": ...}``, as
        the embedded server answers when it cannot write) is returned as well: it is the
        answer asked for, not a failure to get one.
        """
        try:
            return expect(self.request("GET", "/healthz", idempotent=True), dict, "a health document")
        except ServerError as exc:
            doc = _health_document(exc) if exc.status_code == 503 else None
            if doc is None:
                raise
            return doc

    def version(self) -> str:
        """``GET /version``: the server's version string."""
        body = expect(self.request("GET", "/version", idempotent=True), dict, "a version document")
        return str(body.get("version", "unknown"))

    def namespaces(self) -> list[str]:
        """``GET /namespaces``: the sorted distinct namespaces that hold tasks."""
        response = self.request("GET", "/namespaces", idempotent=True)
        names = expect(response, dict, "a namespace list").get("namespaces", [])
        if not isinstance(names, list):
            raise invalid(response, "namespaces is not a list")
        return [str(name) for name in names]

    def metrics(self) -> dict[str, Any]:
        """``GET /metrics``: memory, worker and task counters, as the server reports them."""
        return expect(self.request("GET", "/metrics", idempotent=True), dict, "a metrics document")

    def __init__(self, base_url: str, *, models: bool = False, **sending: Any) -> None:
        super().__init__(base_url, **sending)
        self.models = models

    # -- single tasks -----------------------------------------------------------------------

    def post_task(self, document: dict[str, Any]) -> TaskView:
        """``POST /task``: store a new task (``Task(...).to_wire()``, or a document built as
        JSON), or update the pending one with the same unique key."""
        for name in ("task", "namespace"):
            if not document.get(name):
                raise UsageError(f"the task's {'name' if name == 'task' else name} must not be empty")
        if document.get("unique_key") == "":
            raise UsageError("the unique key must not be empty: leave it out for a task without one")
        if isinstance(uid := document.get("uid"), str):  # absent: the server makes one
            check_task_id(uid)
        return self._task(self.request("POST", "/task", idempotent=False, json=document))

    def get_task(self, uid: str) -> TaskView:
        """``GET /task/{uid}``; raises :class:`~eventix_cli.core.errors.TaskNotFound`."""
        return self._task(self._by_uid("GET", uid, idempotent=True))

    def put_task(self, document: dict[str, Any]) -> TaskView:
        """``PUT /task/{uid}``: write the whole document; its revision must match the stored one.

        Raises :class:`~eventix_cli.core.errors.RevisionConflict` when someone wrote in between.
        Inserts when the uid does not exist.
        """
        uid = task_segment(document["uid"])
        return self._task(self.request("PUT", f"/task/{uid}", idempotent=True, json=document))

    def delete_task(self, uid: str) -> None:
        """``DELETE /task/{uid}``; raises :class:`~eventix_cli.core.errors.TaskNotFound`."""
        self._by_uid("DELETE", uid, idempotent=True)

    def reschedule(self, uid: str, eta: dt.datetime | None = None) -> TaskView:
        """``GET /task/{uid}/reschedule``: error/retry -> scheduled at ``eta`` (default now).

        Raises :class:`~eventix_cli.core.errors.WrongTaskStatus` for other statuses.
        """
        params = None
        if eta is not None:
            from eventix_cli.core.task import as_utc  # deferred: pydantic, see _task_model

            params = {"eta": as_utc(eta).isoformat()}
        return self._task(self._by_uid("GET", uid, "/reschedule", idempotent=False, params=params))

    def get_by_unique_key(
        self, namespace: str, unique_key: str, stati: Sequence[TaskStatus | str] | None = None
    ) -> TaskView:
        """``GET /task/by_unique_key/{namespace}/{unique_key}``: the first task with that key
        in one of ``stati`` (server default: scheduled, retry)."""
        params = [("stati", str(s)) for s in stati] if stati else None
        response = self.request(
            "GET",
            f"/task/by_unique_key/{segment(namespace, 'namespace')}/{segment(unique_key, 'unique key')}",
            idempotent=True,
            params=params,
        )
        return self._task(response)

    def delete_by_unique_key(self, unique_key: str) -> None:
        """``DELETE /task/by_unique_key/{unique_key}``: the one pending task with that key."""
        self.request("DELETE", f"/task/by_unique_key/{segment(unique_key, 'unique key')}", idempotent=False)

    # -- workers ----------------------------------------------------------------------------

    def next_scheduled(self, worker_id: str, namespace: str) -> TaskView | None:
        """``GET /tasks/next_scheduled``: claim the next due task, or ``None`` when nothing is due."""
        response = self.request(
            "GET",
            "/tasks/next_scheduled",
            idempotent=False,
            params={"worker_id": worker_id, "namespace": namespace},
            ok=(200, 204),
        )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return self._task(response)
        except InvalidResponse as exc:  # the server claimed it for us: the caller must end it
            raise UnreadableTask(f"claimed task unreadable: {exc.message}", content=response.content) from exc

    # -- listings ---------------------------------------------------------------------------

    @staticmethod
    def _query_body(**fields: Any) -> dict[str, Any]:
        return {key: value for key, value in fields.items() if value is not None}

    def by_status(
        self,
        *,
        status: TaskStatus | str | None = None,
        namespace: str | None = None,
        skip: int | None = None,
        limit: int | None = None,
        sort: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> TaskPage:
        """``PUT /tasks/by_status``: a page of tasks matching ``filter`` (a MongoDB query).

        ``status`` and ``namespace`` are merged into the filter by the server.
        """
        body = self._query_body(
            status=str(status) if status is not None else None,
            namespace=namespace,
            skip=skip,
            limit=limit,
            sort=sort,
            filter=dict(filter) if filter else None,
        )
        return self._page(self.request("PUT", "/tasks/by_status", idempotent=True, json=body))

    def by_task(
        self, task: str, *, namespace: str | None = None, skip: int | None = None, limit: int | None = None
    ) -> TaskPage:
        """``PUT /tasks/by_task``: tasks of one function, pending first, then by eta descending."""
        body = self._query_body(task=task, namespace=namespace, skip=skip, limit=limit)
        return self._page(self.request("PUT", "/tasks/by_task", idempotent=True, json=body))

    def dump(self, *, skip: int | None = None, limit: int | None = None) -> TaskPage:
        """``PUT /tasks/dump``: all tasks of every namespace, sorted by uid."""
        body = self._query_body(skip=skip, limit=limit)
        return self._page(self.request("PUT", "/tasks/dump", idempotent=True, json=body))

    def count(
        self,
        *,
        status: TaskStatus | str | None = None,
        namespace: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> int:
        """How many tasks match, from ``max_results`` of a one-item page. The page is sorted by
        uid, an order every server has an index for: unsorted, the embedded server would sort
        every match in insertion order to find the first."""
        page = self.by_status(status=status, namespace=namespace, filter=filter, sort="_id", limit=1)
        return page.max_results

    def pages_by_uid(self, uids: Sequence[str]) -> Iterator[TaskPage]:
        """The tasks under ``uids``, in any namespace, a page per :data:`UIDS_PER_REQUEST` of
        them (a uid with no task: none in its page)."""
        for start in range(0, len(uids), UIDS_PER_REQUEST):
            chunk = list(uids[start : start + UIDS_PER_REQUEST])
            yield self.by_status(filter={"_id": {"$in": chunk}}, limit=len(chunk))

    def iter_tasks(
        self,
        *,
        status: TaskStatus | str | None = None,
        namespace: str | None = None,
        filter: Mapping[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[TaskView]:
        """Every task matching the query, in uid order, by keyset paging.

        Each page asks for ``_id > last uid`` sorted by ``_id``, so memory stays at one page
        and the server does O(n) work in total (``skip`` paging would be O(n²)).
        """
        base = dict(filter or {})
        last: str | None = None
        while True:
            body = self._query_body(
                status=str(status) if status is not None else None,
                namespace=namespace,
                filter=_after(base, last),
                sort="_id",
                limit=page_size,
            )
            response = self.request("PUT", "/tasks/by_status", idempotent=True, json=body)
            page = self._page(response)
            tasks = page.tasks
            if len(tasks) != len(page.ids) or any(
                task.uid != uid for task, uid in zip(tasks, page.ids, strict=True)
            ):  # bulk commands act on these uids: a document without its own is not guessed at
                raise invalid(response, "every listed id needs a task document with that uid")
            if tasks and last is not None:
                _check_progress(tasks[0].uid, last)
            yield from tasks
            if len(tasks) < page_size:
                return
            last = tasks[-1].uid

    def iter_documents(
        self,
        *,
        namespace: str | None = None,
        filter: Mapping[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """The listing of :meth:`iter_tasks` as the server's JSON documents, not read as tasks:
        for ``task purge``, which reads each one as it acts on it, so that a listed document
        that is not a task fails that item alone (a page read as tasks fails whole)."""
        base = dict(filter or {})
        last: str | None = None
        while True:
            body = self._query_body(
                namespace=namespace, filter=_after(base, last), sort="_id", limit=page_size
            )
            response = self.request("PUT", "/tasks/by_status", idempotent=True, json=body)
            page = expect(response, dict, "a page of tasks")
            ids, data = page.get("ids"), page.get("data")
            if not isinstance(ids, list) or not isinstance(data, dict):
                raise invalid(response, "a page needs ids (a list) and data (an object)")
            docs = [data[uid] for uid in ids if isinstance(uid, str) and isinstance(data.get(uid), dict)]
            if len(docs) != len(ids) or any(
                doc.get("uid") != uid for uid, doc in zip(ids, docs, strict=True)
            ):
                raise invalid(response, "every listed id needs a task document with that uid")
            if docs and last is not None:
                _check_progress(docs[0]["uid"], last)
            yield from docs
            if len(docs) < page_size:
                return
            last = docs[-1]["uid"]

    # -- events -----------------------------------------------------------------------------

    def post_event(self, event: Event) -> EventTasks:
        """``POST /event``: the tasks the server's triggers created for it, and the triggers
        that failed when the server names them."""
        response = self.request("POST", "/event", idempotent=False, json=event.model_dump(mode="json"))
        # deferred: pydantic, see _task_model
        from pydantic import TypeAdapter, ValidationError

        from eventix_cli.core.task import FAILED_TRIGGERS_HEADER, Task

        body = expect(response, list, "a list of tasks")
        try:
            tasks = [TaskView.of_model(task) for task in TypeAdapter(list[Task]).validate_python(body)]
        except ValidationError as exc:
            raise invalid(response, str(exc.errors()[0].get("msg"))) from None
        return EventTasks(
            tasks, failed_triggers=_failed_triggers(response.headers.get(FAILED_TRIGGERS_HEADER.lower()))
        )

    # -- reading tasks ----------------------------------------------------------------------

    def _by_uid(self, method: str, uid: str, tail: str = "", **sending: Any) -> Answer:
        """A request on ``/task/{uid}{tail}``. A task that is not there is said in the CLI's
        words, ``task UID not found``, whichever server answered and in whatever words."""
        try:
            return self.request(method, f"/task/{task_segment(uid)}{tail}", **sending)
        except TaskNotFound as exc:
            raise TaskNotFound(
                f"task {uid} not found",
                status_code=exc.status_code,
                server_error_class=exc.server_error_class,
                payload=exc.payload,
                traceback=exc.traceback,
                hint=exc.hint,
            ) from None

    def _task(self, response: Answer) -> TaskView:
        """The task in the body: a view of the document itself when it is in canonical form
        (no pydantic), else read through the model. A client made with ``models=True`` reads
        through the model at once."""
        if not self.models:
            view = view_of(decode_json(response))
            if view is not None:
                return view
        return TaskView.of_model(decode_model(response, _task_model()))

    def _page(self, response: Answer) -> TaskPage:
        """The page in the body, its tasks read as :meth:`_task` reads one."""
        if not self.models:
            page = _page_of_views(decode_json(response))
            if page is not None:
                return page
        from eventix_cli.core.task import Page  # see _task_model

        model = decode_model(response, Page)
        tasks = [TaskView.of_model(task) for task in model.tasks]
        return TaskPage(model.ids, tasks, model.max_results, model.skip, model.limit, model.sort)


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of a listing: the ids the server listed, their tasks in that order (a listed id
    without a document has none), how many tasks match in all, and the paging it applied."""

    ids: list[str]
    tasks: list[TaskView]
    max_results: int
    skip: int | None = None
    limit: int | None = None
    sort: str | None = None


def _page_of_views(body: Any) -> TaskPage | None:
    """The page when it and every document in it are in canonical form (no pydantic), else None."""
    if type(body) is not dict:
        return None
    ids, data, total = body.get("ids"), body.get("data"), body.get("max_results")
    skip, limit, sort = body.get("skip"), body.get("limit"), body.get("sort")
    if not (type(ids) is list and type(data) is dict and type(total) is int):
        return None
    if not all(type(uid) is str for uid in ids):
        return None
    if not (all(v is None or type(v) is int for v in (skip, limit)) and (sort is None or type(sort) is str)):
        return None
    views = {uid: view_of(doc) for uid, doc in data.items()}
    if None in views.values():
        return None
    tasks: list[TaskView] = [views[uid] for uid in ids if uid in views]  # type: ignore[misc]
    return TaskPage(ids, tasks, total, skip, limit, sort)


def _check_progress(first: str, last: str) -> None:
    """Keyset paging asks for ``_id > last``: a page that does not move past it would repeat
    forever (a server ignoring the filter), so paging stops with an error instead."""
    if first <= last:
        raise InvalidResponse(
            f"the server's next page did not move past uid {last} (it starts at {first}): "
            "it ignores the filter _id > last uid, so paging was stopped",
            status_code=200,
            hint="is --url pointing at an Eventix server?",
        )


def _after(base: dict[str, Any], last: str | None) -> dict[str, Any] | None:
    """The keyset condition ``_id > last`` added to a filter (kept apart when it has ``_id``)."""
    if last is None:
        return base or None
    after = {"_id": {"$gt": last}}
    return {"$and": [base, after]} if "_id" in base else base | after


# The model is imported on first use, not with the client: pydantic costs ~45 ms of start-up
# that commands such as `ping` and `task list` never need (tests/test_startup.py).
def _task_model() -> type[Task]:
    from eventix_cli.core.task import Task

    return Task


def _health_document(exc: ServerError) -> dict[str, Any] | None:
    """The health document an error answer carried (kept as its body), if it is one."""
    body = exc.payload.get("body") if isinstance(exc.payload, dict) else None
    try:
        doc = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("status"), str) else None


class EventTasks(list[TaskView]):
    """The tasks an event's triggers created, and ``failed_triggers``: ``(trigger, reason)``
    of each trigger that failed, or ``None`` when the server does not say (upstream's only
    logs a failed trigger; the embedded server names them in a header)."""

    def __init__(
        self, tasks: list[TaskView], *, failed_triggers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(tasks)
        self.failed_triggers = failed_triggers


def _failed_triggers(header: str | None) -> list[tuple[str, str]] | None:
    if header is None:
        return None
    try:
        items = json.loads(header)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    return [
        (str(item.get("trigger")), str(item.get("reason") or "")) for item in items if isinstance(item, dict)
    ]
