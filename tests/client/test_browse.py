"""The data layer of ``eventix top`` against every reference server: pages newest first, the
text filter matched on the server (case-insensitive, literal), rows per namespace, running
tasks by worker."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.client.browse import (
    MAX_PAGE_SIZE,
    MAX_TEXT_LENGTH,
    literal_pattern,
    namespace_rows,
    running_by_worker,
    task_page,
    text_filter,
)
from eventix_cli.core.errors import UsageError
from eventix_cli.core.fields import new_uid
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow

pytestmark = pytest.mark.contract

BASE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _store(client: EventixClient, namespace: str, minute: int, **fields) -> str:
    """A task created ``minute`` minutes after BASE (so its place in the newest-first order is known)."""
    fields.setdefault("task", "demo")
    task = Task(namespace=namespace, created_time=BASE + dt.timedelta(minutes=minute), **fields)
    return client.post_task(task.to_wire()).uid


def _error(message: str, error_class: str = "ValueError") -> dict:
    return {
        "error_class": error_class,
        "error_message": message,
        "error_status_code": 500,
        "error_traceback": [],
        "error_payload": {},
    }


def _uids(page) -> list[str]:
    return [task.uid for task in page.tasks]


def test_pages_are_newest_first_without_overlap(client: EventixClient, namespace: str) -> None:
    uids = [_store(client, namespace, minute) for minute in (3, 1, 4, 0, 2)]
    newest_first = [uids[2], uids[0], uids[4], uids[1], uids[3]]
    first = task_page(client, namespace=namespace, status=None, text=None, skip=0, limit=2)
    second = task_page(client, namespace=namespace, status=None, text=None, skip=2, limit=2)
    third = task_page(client, namespace=namespace, status=None, text=None, skip=4, limit=2)
    assert _uids(first) + _uids(second) + _uids(third) == newest_first
    assert first.max_results == second.max_results == third.max_results == 5


def test_same_creation_time_ordered_by_uid(client: EventixClient, namespace: str) -> None:
    uids = [_store(client, namespace, 0, uid=new_uid()) for _ in range(4)]
    page = task_page(client, namespace=namespace, status=None, text=None, skip=0, limit=10)
    assert _uids(page) == sorted(uids, reverse=True)


def test_status_narrows_the_page(client: EventixClient, namespace: str) -> None:
    failed = _store(client, namespace, 1, status="error", result=_error("boom"))
    _store(client, namespace, 2)
    page = task_page(client, namespace=namespace, status="error", text=None, skip=0, limit=10)
    assert _uids(page) == [failed]
    assert page.max_results == 1


def test_text_matches_every_field_case_insensitively(client: EventixClient, namespace: str) -> None:
    by_name = _store(client, namespace, 1, task="SendInvoice")
    by_key = _store(client, namespace, 2, unique_key="order-INVOICE-7")
    by_message = _store(client, namespace, 3, status="error", result=_error("no Invoice found"))
    by_class = _store(client, namespace, 4, status="error", result=_error("x", error_class="InvoiceMissing"))
    _store(client, namespace, 5, task="other", result={"note": "invoice"})  # a result, not an error
    _store(client, namespace, 6, task="other")
    page = task_page(client, namespace=namespace, status=None, text="invoice", skip=0, limit=10)
    assert _uids(page) == [by_class, by_message, by_key, by_name]
    by_uid = task_page(client, namespace=namespace, status=None, text=by_key[4:12].upper(), skip=0, limit=10)
    assert _uids(by_uid) == [by_key]


def test_text_finds_matches_beyond_the_page(client: EventixClient, namespace: str) -> None:
    """The filter runs on the server: the one match among many tasks is found whatever page
    the view has loaded, and max_results counts every match."""
    for minute in range(30):
        _store(client, namespace, minute)
    wanted = [_store(client, namespace, -minute, task="needle") for minute in (1, 2, 3)]
    page = task_page(client, namespace=namespace, status=None, text="NEEDLE", skip=0, limit=2)
    assert _uids(page) == wanted[:2]
    assert page.max_results == 3


@pytest.mark.parametrize("text", ["a.c", "(x", "x+", "[ab]", "a|b", "^abc", "c$", "\\d", "a*", "{1}"])
def test_text_is_a_literal_not_a_pattern(client: EventixClient, namespace: str, text: str) -> None:
    exact = _store(client, namespace, 1, task=f"pre {text} post")
    _store(client, namespace, 2, task="abc axc a b x xx 1 dd")  # what each text would match as a pattern
    page = task_page(client, namespace=namespace, status=None, text=text, skip=0, limit=10)
    assert _uids(page) == [exact]


def test_text_with_control_and_non_ascii_characters(client: EventixClient, namespace: str) -> None:
    tab = _store(client, namespace, 1, task="a\tb")
    accented = _store(client, namespace, 2, task="Überweisung")
    assert _uids(task_page(client, namespace=namespace, status=None, text="a\tb", skip=0, limit=9)) == [tab]
    assert _uids(task_page(client, namespace=namespace, status=None, text="üBER", skip=0, limit=9)) == [
        accented
    ]


def test_namespace_rows_count_and_rate(client: EventixClient, namespace: str) -> None:
    names = [f"{namespace}-a", f"{namespace}-b"]
    now = utcnow()
    due = now - dt.timedelta(seconds=90)
    client.post_task(Task(task="x", namespace=names[0], eta=due).to_wire())
    client.post_task(Task(task="x", namespace=names[0], status="error", updated_time=now).to_wire())
    client.post_task(Task(task="x", namespace=names[1], status="done", updated_time=now).to_wire())
    with ThreadPoolExecutor(6) as pool:
        rows = {row["namespace"]: row for row in namespace_rows(client, now, pool)}
    a, b = rows[names[0]], rows[names[1]]
    assert (a["scheduled"], a["error"], a["total"], a["failed_last_minute"], a["done_last_minute"]) == (
        1,
        1,
        2,
        1,
        0,
    )
    assert a["oldest_due_seconds"] == pytest.approx(90, abs=2)
    assert (b["done"], b["total"], b["done_last_minute"], b["oldest_due_seconds"]) == (1, 1, 1, None)


def test_running_by_worker_groups_and_flags_expired_leases(client: EventixClient, namespace: str) -> None:
    client.post_task(Task(task="x", namespace=namespace, eta=utcnow() - dt.timedelta(seconds=5)).to_wire())
    claimed = client.next_scheduled("w1", namespace)
    assert claimed is not None
    stale = Task(
        task="x",
        namespace=namespace,
        status="processing",
        worker_id="w0",
        worker_expires=utcnow() + dt.timedelta(seconds=-5),
    )
    client.post_task(stale.to_wire())
    groups = running_by_worker(client, namespace)
    assert [(g["worker_id"], g["expired"]) for g in groups] == [("w0", 1), ("w1", 0)]
    assert groups[1]["tasks"][0]["uid"] == claimed.uid
    assert groups[0]["tasks"][0]["lease_expired"] is True


# -- bad input: refused before anything is sent ------------------------------------------------


@pytest.fixture
def silent_client():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing may be sent, but {request.method} {request.url} was")

    with EventixClient("http://127.0.0.1:9", transport=httpx.MockTransport(refuse), retries=0) as c:
        yield c


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "failed"}, "unknown status 'failed'"),
        ({"skip": -1}, "skip must be 0 or more"),
        ({"limit": 0}, f"a page holds 1 to {MAX_PAGE_SIZE} tasks"),
        ({"limit": MAX_PAGE_SIZE + 1}, f"a page holds 1 to {MAX_PAGE_SIZE} tasks"),
        ({"text": "x" * (MAX_TEXT_LENGTH + 1)}, f"at most {MAX_TEXT_LENGTH}"),
    ],
)
def test_bad_input_is_refused_before_sending(silent_client, changes, message) -> None:
    arguments = {"namespace": "ns", "status": None, "text": None, "skip": 0, "limit": 10} | changes
    with pytest.raises(UsageError, match=message):
        task_page(silent_client, **arguments)


def test_blank_text_filters_nothing() -> None:
    assert text_filter(None) is None
    assert text_filter("  \t ") is None
    assert text_filter(" ab ") == text_filter("ab")


def test_literal_pattern_escapes_nul_for_mongodb() -> None:
    assert "\x00" not in literal_pattern("a\x00b")
