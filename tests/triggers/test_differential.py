"""The same trigger directory on upstream's reference server and on the embedded server:
the same events posted to both create the same tasks."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.servers import running_server

pytestmark = pytest.mark.slow

TRIGGERS = textwrap.dedent(
    """
    triggers:
      AnnounceMail:
        event_name: TransactionStatusChanged
        namespace: default
        trigger_type: default
        code: |
          def execute(self, event: TEventixEvent) -> TEventixTask:
              payload = event.payload_dict()
              if payload.get("status") != "ANNOUNCED":
                  self.ignore()
              return TEventixTask(task="send_announcement", kwargs=dict(nr=payload["nr"]))
      AuditEverything:
        event_name: TransactionStatusChanged
        code: |
          def execute(self, event):
              return TEventixTask(
                  task="audit",
                  args=[event.name, self.name],
                  kwargs={"payload": event.payload, "at": event.timestamp.isoformat()},
                  namespace="audit",
                  priority=99,
                  unique_key="audit:" + str(event.payload.get("nr")),
              )
      Failing:
        event_name: TransactionStatusChanged
        code: |
          def execute(self, event):
              return TEventixTask(task="never", kwargs={"x": event.payload["no_such_key"]})
    """
)
OTHER = textwrap.dedent(
    """
    triggers:
      NoTask:
        event_name: Other
        code: |
          def execute(self, event):
              return None
      Typed:
        event_name: Other
        code: |
          def execute(self, event):
              class Body(BaseModel):
                  n: int
              body = event.payload_object(Body)
              return TEventixTask(task="typed", args=(body.n, body.n * 2), namespace=None)
    """
)

# fields that differ by nature between two servers (identity, clocks, revisions)
VOLATILE = {"uid", "revision", "created_time", "updated_time", "eta", "scheduled"}

EVENTS = [
    {"name": "TransactionStatusChanged", "payload": {"status": "ANNOUNCED", "nr": 1}, "priority": 3},
    {"name": "TransactionStatusChanged", "payload": {"status": "OPEN", "nr": 2}},
    # the same unique key again: the pending audit task is updated, not duplicated
    {"name": "TransactionStatusChanged", "payload": {"status": "ANNOUNCED", "nr": 1}, "priority": -2},
    {"name": "TransactionStatusChanged", "payload": {"status": "ANNOUNCED", "nr": 3}, "namespace": "default"},
    {"name": "Other", "payload": {"n": 21}, "operator": "alice"},
    {"name": "Unknown", "payload": {}},
]


def _stable(task: dict) -> dict:
    return {k: v for k, v in task.items() if k not in VOLATILE}


def _post_all(url: str, namespace: str) -> tuple[list[list[dict]], list[dict]]:
    answers = []
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as http:
        for event in EVENTS:
            body = {
                "namespace": namespace,
                "operator": "eventix-cli",
                "timestamp": "2026-01-02T03:04:05Z",
                **event,
            }
            response = http.post("/event", json=body)
            assert response.status_code == 200, response.text
            answers.append([_stable(t) for t in response.json()])
        stored = []
        for ns in (namespace, "audit"):
            page = http.put("/tasks/by_status", json={"namespace": ns}).json()
            stored += [_stable(page["data"][uid]) for uid in page["ids"]]
    return answers, sorted(stored, key=lambda t: (t["namespace"], t["task"], str(t["kwargs"])))


def test_embedded_creates_the_tasks_upstream_creates(tmp_path: Path) -> None:
    directory = tmp_path / "triggers"
    directory.mkdir()
    (directory / "transactions.yaml").write_text(TRIGGERS)
    (directory / "other.yaml").write_text(OTHER)
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    env = {"EVENTIX_TRIGGER_CONFIG_DIRECTORY": str(directory)}
    with running_server("upstream", tmp_path / "logs", env=env) as upstream:
        upstream_answers, upstream_stored = _post_all(upstream.url, namespace)
    with running_server("embedded", tmp_path / "logs", extra_args=["--db", ":memory:"], env=env) as embedded:
        embedded_answers, embedded_stored = _post_all(embedded.url, namespace)

    assert embedded_answers == upstream_answers
    assert embedded_stored == upstream_stored
    # the scenario exercises what it claims to
    tasks = [t["task"] for answer in upstream_answers for t in answer]
    assert tasks == [
        "send_announcement",
        "audit",
        "audit",
        "send_announcement",
        "audit",
        "send_announcement",
        "audit",
        "typed",
    ]
    assert sum(t["task"] == "audit" for t in upstream_stored) == 3  # audit:1 merged
