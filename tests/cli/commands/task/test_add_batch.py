"""``eventix task add --from FILE|-``: batch enqueue (issue 11)."""

from __future__ import annotations

import json

import pytest

from eventix_cli.client.api import EventixClient
from tests.support.tasks import statuses


def _tasks(url: str, namespace: str) -> dict:
    with EventixClient(url) as client:
        return {t.uid: t for t in client.iter_tasks(namespace=namespace)}


def test_batch_from_file_in_input_order(cli, server, namespace, tmp_path) -> None:
    lines = [{"task": "send_invoice", "kwargs": {"invoice_id": i}, "priority": i} for i in range(30)] + [
        {"task": "report", "args": [1, "x"], "eta": "+10m", "unique_key": "rep:1", "max_retries": 2},
        {"task": "elsewhere", "namespace": f"{namespace}-b", "retry": False},
    ]
    src = tmp_path / "tasks.jsonl"
    src.write_text("# a comment\n\n" + "".join(json.dumps(line) + "\n" for line in lines))
    result = cli("task", "add", "--from", str(src), "--url", server.url, "-n", namespace)
    assert result.exit_code == 0, result.stderr
    uids = result.stdout.split()
    assert len(uids) == 32
    stored = _tasks(server.url, namespace) | _tasks(server.url, f"{namespace}-b")
    assert [stored[uid].kwargs.get("invoice_id") for uid in uids[:30]] == list(range(30))
    assert [stored[uid].logical_priority for uid in uids[:30]] == list(range(30))
    report = stored[uids[30]]
    assert report.args == [1, "x"]
    assert report.unique_key == "rep:1"
    assert report.max_retries == 2
    assert report.eta > report.created_time
    assert stored[uids[31]].namespace == f"{namespace}-b"
    assert stored[uids[31]].retry is False
    assert result.stderr.startswith("32 added in ")


def test_batch_from_stdin_as_json(cli, embedded_url, namespace) -> None:
    text = '{"task": "a"}\n{"task": "b", "kwargs": {"k": 1}}\n'
    result = cli(
        "task", "add", "--from", "-", "--url", embedded_url, "-n", namespace, "-o", "json", input=text
    )
    assert result.exit_code == 0, result.stderr
    docs = json.loads(result.stdout)
    assert [d["task"] for d in docs] == ["a", "b"]
    assert docs[1]["kwargs"] == {"k": 1}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: invalid JSON"),
        ('["a"]', "line 2: expected a JSON object, got list"),
        ('{"kwargs": {}}', "line 2: 'task' is required"),
        (
            '{"task": "a", "prio": 1}',
            "line 2: unknown field 'prio'; a line may have task, args, kwargs, eta, priority, unique_key,"
            " namespace, retry, max_retries",
        ),
        ('{"task": "a", "args": {}}', "line 2: 'args' must be a JSON array, got dict"),
        ('{"task": "a", "priority": "high"}', "line 2: 'priority' must be an integer, got str"),
        ('{"task": "a", "eta": "soon"}', "line 2: eta:"),
        ('{"task": "a", "max_retries": -1}', "line 2: 'max_retries' must be a count >= 0 or null"),
        # Python's parser takes these, but they would be stored as null: refused, never changed
        ('{"task": "a", "kwargs": {"x": NaN}}', "line 2: NaN is not a JSON number"),
        ('{"task": "a", "args": [-Infinity]}', "line 2: -Infinity is not a JSON number"),
        ('{"task": "a", "args": [1e999]}', "line 2: 1e999 is too large for a JSON number"),
        # no server could store these (nor a worker write them back): refused before sending
        (
            '{"task": "a", "kwargs": {"n": 1180591620717411303424}}',
            "line 2: not a storable task: it holds an integer beyond 64 bits",
        ),
        (
            '{"task": "a", "kwargs": {"deep": ' + "[" * 120 + "]" * 120 + "}}",
            "line 2: not a storable task: it holds JSON nested deeper than",
        ),
    ],
)
def test_bad_line_is_named_and_nothing_is_sent(cli, embedded_url, namespace, line, message) -> None:
    text = '{"task": "fine"}\n' + line + '\n{"task": "also_fine"}\n'
    result = cli("task", "add", "--from", "-", "--url", embedded_url, "-n", namespace, input=text)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert statuses(embedded_url, namespace) == {}


def test_from_refuses_single_task_options(cli, embedded_url, namespace) -> None:
    result = cli("task", "add", "x", "--from", "-", "--url", embedded_url, input='{"task": "a"}\n')
    assert result.exit_code == 2
    assert "TASK cannot be given with it" in result.stderr
    result = cli("task", "add", "--from", "-", "--wait", "--url", embedded_url, input='{"task": "a"}\n')
    assert result.exit_code == 2
    assert cli("task", "add", "--url", embedded_url).exit_code == 2


def test_from_is_refused_in_read_only_mode(cli, embedded_url, namespace) -> None:
    result = cli(
        "task", "add", "--from", "-", "--url", embedded_url, "-n", namespace,
        input='{"task": "a"}\n', env={"EVENTIX_READ_ONLY": "1"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert statuses(embedded_url, namespace) == {}


def test_a_failed_post_is_reported_by_line_and_the_rest_are_added(
    cli, embedded_url, namespace, monkeypatch
) -> None:
    from eventix_cli.core.errors import ValidationFailed

    real = EventixClient.post_task

    def post_task(self, document):
        if document["task"] == "refused":
            raise ValidationFailed("the server refused it", status_code=422)
        return real(self, document)

    monkeypatch.setattr(EventixClient, "post_task", post_task)
    text = '{"task": "ok"}\n{"task": "refused"}\n{"task": "ok2"}\n'
    result = cli("task", "add", "--from", "-", "--url", embedded_url, "-n", namespace, input=text)
    assert result.exit_code == 1
    uids = result.stdout.split()
    stored = _tasks(embedded_url, namespace)
    assert [stored[u].task for u in uids] == ["ok", "ok2"]
    assert "2 added, 1 failed" in result.stderr
    assert "line 2: the server refused it" in result.stderr


def test_every_bad_line_is_reported_up_to_a_limit(cli, embedded_url, namespace) -> None:
    good = '{"task": "fine"}'
    bad = [f'{{"task": "a", "priority": "p{i}"}}' for i in range(25)]
    text = "\n".join([good, *bad[:2], good, *bad[2:]]) + "\n"
    result = cli("task", "add", "--from", "-", "--url", embedded_url, "-n", namespace, input=text)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 25 bad lines in the input; nothing was sent (UsageError)"
    assert lines[1:3] == [
        "  line 2: 'priority' must be an integer, got str",
        "  line 3: 'priority' must be an integer, got str",
    ]
    assert lines[3] == "  line 5: 'priority' must be an integer, got str"
    assert len([line for line in lines if line.startswith("  line ")]) == 20
    assert "  ... and 5 more" in lines
    assert statuses(embedded_url, namespace) == {}
