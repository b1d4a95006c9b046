"""EventixClient: one typed method per endpoint of the Eventix REST API.

The client knows HTTP and the wire format, nothing about terminals. How a request is sent
(the deadline, retries, error mapping) is :mod:`eventix_cli.client.sender`'s; what goes out and comes
back is :mod:`eventix_cli.client.wire`'s. Every failure is an exception from :mod:`eventix_cli.core.errors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eventix_cli.client.sender import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from eventix_cli.client.sender import HttpSender
from eventix_cli.client.sender import redact_headers as redact_headers
from eventix_cli.client.wire import decode_json, decode_model, expect, invalid, segment
from eventix_cli.core.errors import InvalidResponse, UnreadableTask, UsageError

if TYPE_CHECKING:
    import datetime as dt

    from eventix_cli.client.answer import Answer
    from eventix_cli.core.task import Event, Page, Task, TaskStatus
    from eventix_cli.core.view import TaskView

DEFAULT_PAGE_SIZE = 500


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
    """

    # -- server -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /healthz``: the server's health document, ``{"status": "healthy"}`` when well."""
        return expect(self.request("GET", "/healthz", idempotent=True), dict, "a health document")

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

    # -- single tasks -----------------------------------------------------------------------

    def post_task(self, task: Task) -> Task:
        """``POST /task``: store a new task, or update the pending one with the same unique key."""
        for name in ("task", "namespace"):
            if not getattr(task, name):
                raise UsageError(f"the task's {'name' if name == 'task' else name} must not be empty")
        if task.unique_key == "":
            raise UsageError("the unique key must not be empty: leave it out for a task without one")
        response = self.request("POST", "/task", idempotent=False, json=task.to_wire())
        return _task(response)

    def post_document(self, document: dict[str, Any]) -> Task | TaskView:
        """Like :meth:`post_task`, for a document built as JSON (``task add``: no pydantic);
        the stored task comes back as a read-only view where its form allows."""
        for name in ("task", "namespace"):
            if not document.get(name):
                raise UsageError(f"the task's {'name' if name == 'task' else name} must not be empty")
        if document.get("unique_key") == "":
            raise UsageError("the unique key must not be empty: leave it out for a task without one")
        return _task_view(self.request("POST", "/task", idempotent=False, json=document))

    def get_task(self, uid: str) -> Task:
        """``GET /task/{uid}``; raises :class:`~eventix_cli.core.errors.TaskNotFound`."""
        return _task(self.request("GET", f"/task/{segment(uid, 'task id')}", idempotent=True))

    def put_task(self, task: Task) -> Task:
        """``PUT /task/{uid}``: write the whole document; its revision must match the stored one.

        Raises :class:`~eventix_cli.core.errors.RevisionConflict` when someone wrote in between.
        Inserts when the uid does not exist.
        """
        response = self.request(
            "PUT", f"/task/{segment(task.uid, 'task id')}", idempotent=True, json=task.to_wire()
        )
        return _task(response)

    def delete_task(self, uid: str) -> None:
        """``DELETE /task/{uid}``; raises :class:`~eventix_cli.core.errors.TaskNotFound`."""
        self.request("DELETE", f"/task/{segment(uid, 'task id')}", idempotent=True)

    def reschedule(self, uid: str, eta: dt.datetime | None = None) -> Task:
        """``GET /task/{uid}/reschedule``: error/retry -> scheduled at ``eta`` (default now).

        Raises :class:`~eventix_cli.core.errors.WrongTaskStatus` for other statuses.
        """
        params = None
        if eta is not None:
            from eventix_cli.core.task import as_utc

            params = {"eta": as_utc(eta).isoformat()}
        response = self.request(
            "GET", f"/task/{segment(uid, 'task id')}/reschedule", idempotent=False, params=params
        )
        return _task(response)

    def get_by_unique_key(
        self, namespace: str, unique_key: str, stati: Sequence[TaskStatus | str] | None = None
    ) -> Task:
        """``GET /task/by_unique_key/{namespace}/{unique_key}``: the first task with that key
        in one of ``stati`` (server default: scheduled, retry)."""
        params = [("stati", str(s)) for s in stati] if stati else None
        response = self.request(
            "GET",
            f"/task/by_unique_key/{segment(namespace, 'namespace')}/{segment(unique_key, 'unique key')}",
            idempotent=True,
            params=params,
        )
        return _task(response)

    def delete_by_unique_key(self, unique_key: str) -> None:
        """``DELETE /task/by_unique_key/{unique_key}``: the one pending task with that key."""
        self.request("DELETE", f"/task/by_unique_key/{segment(unique_key, 'unique key')}", idempotent=False)

    # -- workers ----------------------------------------------------------------------------

    def next_scheduled(self, worker_id: str, namespace: str) -> Task | None:
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
            return _task(response)
        except InvalidResponse as exc:  # the server claimed it for us: the caller must end it
            raise UnreadableTask(f"claimed task unreadable: {exc.message}", content=response.content) from exc

    def put_document(self, uid: str, document: dict[str, Any]) -> None:
        """``PUT /task/{uid}`` of a raw document (revision-checked like :meth:`put_task`), for a
        task the client cannot read into a :class:`Task`."""
        self.request("PUT", f"/task/{segment(uid, 'task id')}", idempotent=True, json=document)

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
    ) -> Page:
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
        response = self.request("PUT", "/tasks/by_status", idempotent=True, json=body)
        return _page(response)

    def read_task(self, uid: str) -> Task | TaskView:
        """Like :meth:`get_task`, for reading only: a :class:`~eventix_cli.core.view.TaskView`
        when the server's document is in canonical form (no pydantic), else the model."""
        response = self.request("GET", f"/task/{segment(uid, 'task id')}", idempotent=True)
        return _task_view(response)

    def read_page(
        self,
        *,
        skip: int | None = None,
        limit: int | None = None,
        sort: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> tuple[list[Task | TaskView], int]:
        """Like :meth:`by_status`, for reading only: the tasks in order and ``max_results``,
        as views when the page is in canonical form."""
        body = self._query_body(skip=skip, limit=limit, sort=sort, filter=dict(filter) if filter else None)
        response = self.request("PUT", "/tasks/by_status", idempotent=True, json=body)
        from eventix_cli.core.view import view_of

        page = decode_json(response)
        if isinstance(page, dict):
            ids, data, total = page.get("ids"), page.get("data"), page.get("max_results")
            shaped = all(page.get(k) is None or type(page[k]) is int for k in ("skip", "limit")) and (
                page.get("sort") is None or type(page["sort"]) is str
            )
            if shaped and type(ids) is list and type(data) is dict and type(total) is int:
                views = {uid: view_of(doc) for uid, doc in data.items()}
                if all(type(uid) is str for uid in ids) and None not in views.values():
                    return [views[uid] for uid in ids if uid in views], total  # type: ignore[misc]
        slow = _page(response)
        return list(slow.tasks), slow.max_results

    def by_task(
        self, task: str, *, namespace: str | None = None, skip: int | None = None, limit: int | None = None
    ) -> Page:
        """``PUT /tasks/by_task``: tasks of one function, pending first, then by eta descending."""
        body = self._query_body(task=task, namespace=namespace, skip=skip, limit=limit)
        response = self.request("PUT", "/tasks/by_task", idempotent=True, json=body)
        return _page(response)

    def dump(self, *, skip: int | None = None, limit: int | None = None) -> Page:
        """``PUT /tasks/dump``: all tasks of every namespace, sorted by uid."""
        body = self._query_body(skip=skip, limit=limit)
        response = self.request("PUT", "/tasks/dump", idempotent=True, json=body)
        return _page(response)

    def count(
        self,
        *,
        status: TaskStatus | str | None = None,
        namespace: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> int:
        """How many tasks match, from ``max_results`` of a one-item page."""
        return self.by_status(status=status, namespace=namespace, filter=filter, limit=1).max_results

    def iter_tasks(
        self,
        *,
        status: TaskStatus | str | None = None,
        namespace: str | None = None,
        filter: Mapping[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Task]:
        """Every task matching the query, in uid order, by keyset paging.

        Each page asks for ``_id > last uid`` sorted by ``_id``, so memory stays at one page
        and the server does O(n) work in total (``skip`` paging would be O(n²)).
        """
        base = dict(filter or {})
        last: str | None = None
        while True:
            page = self.by_status(
                status=status, namespace=namespace, filter=_after(base, last), sort="_id", limit=page_size
            )
            tasks = page.tasks
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
        """Like :meth:`iter_tasks`, as plain JSON documents: no model validation, for bulk
        operations that only need a few fields of many tasks."""
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

    def post_event(self, event: Event) -> list[Task]:
        """``POST /event``: the tasks the server's triggers created for it."""
        response = self.request("POST", "/event", idempotent=False, json=event.model_dump(mode="json"))
        from pydantic import TypeAdapter, ValidationError

        from eventix_cli.core.task import Task

        body = expect(response, list, "a list of tasks")
        try:
            return TypeAdapter(list[Task]).validate_python(body)
        except ValidationError as exc:
            raise invalid(response, str(exc.errors()[0].get("msg"))) from None


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


# Models are imported on first use, not with the client: pydantic costs ~45 ms of start-up
# that commands such as `ping` never need.
def _task(response: Answer) -> Task:
    from eventix_cli.core.task import Task

    return decode_model(response, Task)


def _task_view(response: Answer) -> Task | TaskView:
    from eventix_cli.core.view import view_of

    return view_of(decode_json(response)) or _task(response)


def _page(response: Answer) -> Page:
    from eventix_cli.core.task import Page

    return decode_model(response, Page)
