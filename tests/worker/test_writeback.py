"""Claim-checked writes and lease renewal in-process against a real server (both kinds)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.outcome import apply_cancel, apply_success
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.core.view import TaskView
from eventix_cli.worker.claimed import Claimed, Stage
from eventix_cli.worker.leases import LeaseKeeper
from eventix_cli.worker.outage import Outage
from eventix_cli.worker.writeback import Writer

WID = "w-in"


@pytest.fixture
def parts(client):
    outage = Outage(0.01, 0.02)
    return client, Writer(client, WID, outage, threading.Event()), LeaseKeeper(client, WID, outage, 2.0)


def _assert_lease_of_2s(stored: TaskView, before: dt.datetime, after: dt.datetime) -> None:
    """The lease runs 2 s from its renewal, which was between ``before`` and ``after``
    (load-independent: bracketed, not measured from now; a millisecond for rounding)."""
    lease, rounding = dt.timedelta(seconds=2), dt.timedelta(milliseconds=1)
    assert before + lease - rounding <= stored.worker_expires <= after + lease


def claim(client: EventixClient, namespace: str) -> Claimed:
    client.post_task(Task(task="job", namespace=namespace, eta=utcnow()).to_wire())
    task = client.next_scheduled(WID, namespace)
    assert task is not None
    return Claimed(task=task.to_task(), lease=300, lane=1)


def succeeded(claimed: Claimed, result: object = "ok") -> Task:
    outcome = claimed.task.model_copy()
    apply_success(outcome, result)
    return outcome


def test_outcome_is_reapplied_while_the_claim_is_ours(parts, namespace) -> None:
    client, writer, _ = parts
    claimed = claim(client, namespace)
    other = client.get_task(claimed.uid).to_task()
    other.kwargs = {"touched": True}  # someone writes; the claim stays ours
    client.put_task(other.to_wire())
    assert writer.write_outcome(claimed, succeeded(claimed)) == "done"
    stored = client.get_task(claimed.uid)
    assert (stored.status, stored.result, stored.kwargs) == (TaskStatus.done, "ok", {"touched": True})
    assert claimed.stage is Stage.WRITTEN


@pytest.mark.parametrize("how", ["cancelled", "requeued", "taken"])
def test_outcome_is_discarded_once_the_claim_is_gone(parts, namespace, how, caplog) -> None:
    client, writer, _ = parts
    claimed = claim(client, namespace)
    other = client.get_task(claimed.uid).to_task()
    if how == "cancelled":
        apply_cancel(other, by="test")
    elif how == "requeued":
        other.status, other.worker_id = TaskStatus.scheduled, None
    else:
        other.worker_id = "someone-else"
    before = client.put_task(other.to_wire())
    assert writer.write_outcome(claimed, succeeded(claimed)) == "discarded"
    after = client.get_task(claimed.uid)
    assert after.revision == before.revision  # not a single write
    assert claimed.uid in caplog.text
    assert claimed.stage is Stage.LOST


def test_release_after_a_conflict_rereads_and_releases(parts, namespace) -> None:
    client, writer, _ = parts
    claimed = claim(client, namespace)
    other = client.get_task(claimed.uid).to_task()
    other.kwargs = {"touched": True}
    client.put_task(other.to_wire())
    assert writer.release(claimed, "test")
    stored = client.get_task(claimed.uid)
    assert (stored.status, stored.worker_id, stored.kwargs) == (TaskStatus.scheduled, None, {"touched": True})
    # an outcome that comes later is dropped
    assert writer.write_outcome(claimed, succeeded(claimed)) == "released"
    assert client.get_task(claimed.uid).status == TaskStatus.scheduled


def test_release_leaves_a_task_that_is_no_longer_ours(parts, namespace) -> None:
    client, writer, _ = parts
    claimed = claim(client, namespace)
    other = client.get_task(claimed.uid).to_task()
    apply_cancel(other, by="test")
    client.put_task(other.to_wire())
    assert not writer.release(claimed, "test")
    assert client.get_task(claimed.uid).status == TaskStatus.error


def test_renewal_extends_the_lease_and_the_write_back_uses_its_revision(parts, namespace) -> None:
    client, writer, leases = parts
    claimed = claim(client, namespace)
    claimed.renewed_at = time.monotonic() - 1.5
    assert leases.due(claimed, time.monotonic())
    started, before = time.monotonic(), utcnow()
    leases.renew(claimed)
    after = utcnow()
    stored = client.get_task(claimed.uid)
    assert stored.revision == claimed.task.revision
    _assert_lease_of_2s(stored, before, after)
    assert claimed.renewed_at >= started
    assert not leases.due(claimed, claimed.renewed_at + 0.9)  # due again half a lease later
    assert leases.due(claimed, claimed.renewed_at + 1.1)
    claimed.stage = Stage.FINISHED
    assert writer.write_outcome(claimed, succeeded(claimed)) == "done"


def test_renewal_of_a_deleted_task_does_not_bring_it_back(parts, namespace) -> None:
    client, writer, leases = parts
    claimed = claim(client, namespace)
    client.delete_task(claimed.uid)
    leases.renew(claimed)
    assert claimed.stage is Stage.LOST
    assert writer.write_outcome(claimed, succeeded(claimed)) == "discarded"
    assert claimed.uid not in {t.uid for t in client.iter_tasks(namespace=namespace)}


def test_renewal_only_while_the_claim_is_held(parts, namespace) -> None:
    client, _, leases = parts
    claimed = claim(client, namespace)
    claimed.renewed_at = time.monotonic() - 100
    for stage in (Stage.RELEASED, Stage.LOST, Stage.WRITTEN):
        claimed.stage = stage
        assert not leases.due(claimed, time.monotonic())


def test_renewal_goes_on_while_the_outcome_waits_for_the_server(parts, namespace) -> None:
    """A write-back that waits out a server that cannot write keeps its claim."""
    client, _, leases = parts
    claimed = claim(client, namespace)
    claimed.renewed_at = time.monotonic() - 100
    claimed.stage = Stage.FINISHED
    assert leases.due(claimed, time.monotonic())


def test_renewal_during_an_outage_backs_off(namespace) -> None:
    from tests.support.servers import free_port

    outage = Outage(1.0, 4.0)
    with EventixClient(f"http://127.0.0.1:{free_port()}", retries=0, timeout=1) as client:
        leases = LeaseKeeper(client, WID, outage, 2.0)
        claimed = Claimed(task=Task(task="job", namespace=namespace), lease=300, lane=1)
        claimed.renewed_at = time.monotonic() - 10
        started = time.monotonic()
        leases.renew(claimed)
        assert outage.ongoing
        assert claimed.stage is Stage.RUNNING  # an outage says nothing about the claim
        # backed off by the outage's first pause (half to all of its base, 1 s): load-independent,
        # read against the renewal's start rather than the moment of the check
        assert claimed.next_renewal >= started + 0.5
        assert not leases.due(claimed, claimed.next_renewal - 0.01)
        assert leases.due(claimed, claimed.next_renewal)


class _WritesBetween(EventixClient):
    """Someone writes the task (keeping the claim) between the renewal's read and its write."""

    def get_task(self, uid: str) -> TaskView:
        task = super().get_task(uid)
        other = super().get_task(uid).to_task()
        other.kwargs = {"n": other.kwargs.get("n", 0) + 1}
        self.put_task(other.to_wire())
        return task


def test_renewal_meeting_a_conflict_keeps_the_claim_and_tries_again(server, namespace) -> None:
    outage = Outage(0.01, 0.02)
    with _WritesBetween(server.url, retries=0) as client:
        claimed = claim(client, namespace)
        leases = LeaseKeeper(client, WID, outage, 2.0)
        claimed.renewed_at = time.monotonic() - 1.5
        leases.renew(claimed)
        assert claimed.stage is Stage.RUNNING  # a conflict says nothing about whose claim it is
        assert leases.due(claimed, time.monotonic() + 0.2)  # tried again on a later round
        assert not outage.ongoing
    with EventixClient(server.url, retries=0) as client:
        leases = LeaseKeeper(client, WID, outage, 2.0)
        before = utcnow()
        leases.renew(claimed)
        after = utcnow()
        stored = client.get_task(claimed.uid)
        assert (stored.revision, stored.kwargs) == (claimed.task.revision, {"n": 1})
        _assert_lease_of_2s(stored, before, after)


class _FailsOnDeepResults(EventixClient):
    """A server whose database refuses one document with a 500 (as MongoDB does past its depth)."""

    def put_task(self, document: dict) -> TaskView:
        from eventix_cli.core.errors import ServerError

        if isinstance(document["result"], list):
            raise ServerError("HTTP 500: document too deep", status_code=500)
        return super().put_task(document)


def test_result_the_server_keeps_failing_on_is_stored_as_an_error(server, namespace) -> None:
    outage = Outage(0.001, 0.002)
    with _FailsOnDeepResults(server.url, retries=0) as client:
        writer = Writer(client, WID, outage, threading.Event())
        claimed = claim(client, namespace)
        assert writer.write_outcome(claimed, succeeded(claimed, [[["deep"]]])) == "retry"
        stored = client.get_task(claimed.uid)
    assert stored.error.error_class == "ResultNotStorable"
    assert "the server failed storing it: HTTP 500: document too deep" in stored.error.error_message


class _CannotWrite(EventixClient):
    """A server that answers, but fails every write ``failures`` times (its disk full, its
    database locked) with ``status``; reads and /healthz keep working."""

    def __init__(self, url: str, status: int, message: str, failures: int) -> None:
        super().__init__(url, retries=0)
        self.status, self.message, self.failures = status, message, failures
        self.written: list[object] = []

    def put_task(self, document: dict) -> TaskView:
        from eventix_cli.core.errors import ServerError

        if self.failures > 0:
            self.failures -= 1
            raise ServerError(f"HTTP {self.status}: {self.message}", status_code=self.status)
        self.written.append(document["result"])
        return super().put_task(document)


@pytest.mark.parametrize(
    ("status", "message"),
    [(500, "database or disk is full"), (500, "database is locked"), (503, "Service Unavailable")],
)
def test_a_server_that_cannot_write_keeps_the_result_until_it_can(server, namespace, status, message) -> None:
    with _CannotWrite(server.url, status, message, failures=8) as client:
        writer = Writer(client, WID, Outage(0.001, 0.002), threading.Event())
        claimed = claim(client, namespace)
        assert writer.write_outcome(claimed, succeeded(claimed, {"rows": 3})) == "done"
        stored = client.get_task(claimed.uid)
        assert client.failures == 0
    assert (stored.status, stored.result) == (TaskStatus.done, {"rows": 3})
    assert {"rows": 3} in client.written  # the result was never replaced by an error


class _RefusesDeepResults(EventixClient):
    """A server with a nesting limit at the door: 422 for a result deeper than it accepts."""

    def put_task(self, document: dict) -> TaskView:
        from eventix_cli.core.errors import ValidationFailed

        if isinstance(document["result"], list):
            raise ValidationFailed(
                "request rejected: result: nesting deeper than 64 levels",
                status_code=422,
                payload=[{"loc": ["body", "result"], "msg": "too deep"}],
            )
        return super().put_task(document)


def test_result_refused_with_422_is_stored_as_an_error_without_it(server, namespace) -> None:
    with _RefusesDeepResults(server.url, retries=0) as client:
        writer = Writer(client, WID, Outage(0.001, 0.002), threading.Event())
        claimed = claim(client, namespace)
        claimed.task.retry = False
        assert writer.write_outcome(claimed, succeeded(claimed, [[["deep"]]])) == "error"
        stored = client.get_task(claimed.uid)
    assert stored.error.error_class == "ResultNotStorable"
    assert "nesting deeper than 64 levels" in stored.error.error_message


def test_release_never_undoes_a_written_outcome(parts, namespace) -> None:
    client, writer, _ = parts
    claimed = claim(client, namespace)
    assert writer.write_outcome(claimed, succeeded(claimed)) == "done"
    assert not writer.release(claimed, "late")
    assert client.get_task(claimed.uid).status == TaskStatus.done


class _LosesTheFirstAnswer(EventixClient):
    """The first write is stored, but its answer never arrives (a timeout on the way back)."""

    lost = False

    def put_task(self, document: dict) -> TaskView:
        from eventix_cli.core.errors import ServerTimeout

        stored = super().put_task(document)
        if not self.lost:
            self.lost = True
            raise ServerTimeout("PUT timed out")
        return stored


def test_a_write_whose_answer_was_lost_counts_as_written(server, namespace, caplog) -> None:
    with _LosesTheFirstAnswer(server.url, retries=0) as client:
        writer = Writer(client, WID, Outage(0.001, 0.002), threading.Event())
        claimed = claim(client, namespace)
        assert writer.write_outcome(claimed, succeeded(claimed, {"rows": 1})) == "done"
        stored = client.get_task(claimed.uid)
    assert (stored.status, stored.result) == (TaskStatus.done, {"rows": 1})
    assert "discarded" not in caplog.text
