"""Loading trigger files and running triggers with upstream's semantics (no server)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from eventix_cli.triggers import load_directory, make_event, run_event


def write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(textwrap.dedent(text))


def trigger_yaml(name: str, event: str, code: str, **fields: str) -> str:
    extra = "".join(f"    {k}: {v}\n" for k, v in fields.items())
    body = textwrap.indent(textwrap.dedent(code).strip() + "\n", " " * 6)
    return f"triggers:\n  {name}:\n    event_name: {event}\n{extra}    code: |\n{body}"


def run(directory: Path, name: str, **event):
    triggers = load_directory(directory)
    assert not triggers.problems, triggers.problems
    posted = []
    outcomes = run_event(triggers, make_event({"name": name, **event}), lambda doc: posted.append(doc) or doc)
    return outcomes, posted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("triggers: [\n", "bad.yaml: not valid YAML"),
        ("- a\n- b\n", "bad.yaml: expected a mapping with 'triggers:', got a list"),
        ("", "bad.yaml: expected a mapping with 'triggers:', got empty"),
        (
            "triggers:\n  T1:\n    code: 'def execute(self, event): pass'\n",
            "bad.yaml: trigger T1: event_name: Field required",
        ),
        ("triggers:\n  T1: 3\n", "bad.yaml: trigger T1: expected a mapping of fields, got int"),
        ("triggers:\n  T1:\n    event_name: e\n", "bad.yaml: trigger T1: code: missing"),
        (
            "triggers:\n  T1:\n    event_name: e\n    trigger_type: fancy\n"
            "    code: 'def execute(self, event): pass'\n",
            "bad.yaml: trigger T1: trigger_type: Input should be 'default'",
        ),
        (
            "triggers:\n  T1:\n    event_name: e\n    code: 'def execute(self, event) return 1'\n",
            "bad.yaml: trigger T1: code does not compile: ",
        ),
        (
            "triggers:\n  T1:\n    event_name: e\n    code: 'def run(self, event): pass'\n",
            "bad.yaml: trigger T1: code does not define execute(self, event)",
        ),
    ],
)
def test_problems_name_file_and_trigger(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    problems = [str(p) for p in load_directory(tmp_path).problems]
    assert len(problems) == 1
    assert problems[0].startswith(expected), problems


def test_same_trigger_in_two_files_is_a_problem_not_a_silent_override(tmp_path: Path) -> None:
    code = "def execute(self, event):\n    return TEventixTask(task='t')"
    write(tmp_path, "a.yaml", trigger_yaml("T", "e", code))
    write(tmp_path, "b.yaml", trigger_yaml("T", "e", code))
    (tmp_path / "c.yml").write_text("triggers: {}\n")
    loaded = load_directory(tmp_path)
    assert [str(p) for p in loaded.problems] == ["b.yaml: trigger T: also defined for event e in a.yaml"]
    assert loaded.notes == ["c.yml: not loaded (only *.yaml files are, as upstream)"]


def test_unknown_fields_are_pointed_out_and_ignored(tmp_path: Path) -> None:
    code = "def execute(self, event):\n    return TEventixTask(task='t')"
    write(tmp_path, "a.yaml", trigger_yaml("T", "e", code, namepsace="billing"))
    loaded = load_directory(tmp_path)
    assert not loaded.problems
    assert loaded.notes == ["a.yaml: trigger T: unknown field(s) namepsace ignored, as upstream"]
    assert len(loaded) == 1


def test_missing_directory(tmp_path: Path) -> None:
    assert [p.message for p in load_directory(tmp_path / "nope").problems] == ["not a directory"]


def test_upstream_rules_for_namespace_priority_and_operator(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        trigger_yaml(
            "Keep",
            "paid",
            """
            def execute(self, event):
                return TEventixTask(task="own", namespace="elsewhere", priority=50, operator="me")
            """,
        ),
    )
    write(
        tmp_path,
        "u.yaml",
        trigger_yaml(
            "Default",
            "paid",
            """
            def execute(self, event: TEventixEvent) -> TEventixTask:
                return TEventixTask(task="default_ns", kwargs=event.payload_dict())
            """,
        ),
    )
    outcomes, posted = run(
        tmp_path, "paid", namespace="billing", priority=-4, operator="bob", payload={"a": 1}
    )
    assert [o.result for o in outcomes] == ["created", "created"]
    assert [(d["task"], d["namespace"], d["priority"], d["operator"]) for d in posted] == [
        ("own", "elsewhere", -4, "bob"),
        ("default_ns", "billing", -4, "bob"),
    ]
    assert posted[1]["kwargs"] == {"a": 1}
    assert posted[1]["args"] == []


def test_ignore_failure_and_no_task_are_reported_and_skipped(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", trigger_yaml("Ignore", "e", "def execute(self, event):\n    self.ignore()"))
    write(tmp_path, "b.yaml", trigger_yaml("Raise", "e", "def execute(self, event):\n    return 1 / 0"))
    write(tmp_path, "c.yaml", trigger_yaml("Nothing", "e", "def execute(self, event):\n    return None"))
    write(
        tmp_path, "d.yaml", trigger_yaml("Dict", "e", "def execute(self, event):\n    return {'task': 'x'}")
    )
    write(
        tmp_path,
        "e.yaml",
        trigger_yaml("Ok", "e", "def execute(self, event):\n    return TEventixTask(task='ok')"),
    )
    outcomes, posted = run(tmp_path, "e")
    assert [(o.trigger, o.result, o.reason) for o in outcomes] == [
        ("Ignore", "ignored", "self.ignore()"),
        ("Raise", "failed", "ZeroDivisionError: division by zero (line 2)"),
        ("Nothing", "failed", "TriggerFailed: No task returned from execute function in trigger."),
        ("Dict", "failed", "TriggerFailed: execute returned dict, not TEventixTask"),
        ("Ok", "created", None),
    ]
    assert [d["task"] for d in posted] == ["ok"]


def test_a_failing_post_skips_the_trigger(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        trigger_yaml("T", "e", "def execute(self, event):\n    return TEventixTask(task='t')"),
    )

    def refuse(_doc: dict) -> dict:
        raise RuntimeError("store says no")

    outcomes = run_event(load_directory(tmp_path), make_event({"name": "e"}), refuse)
    assert [(o.result, o.reason) for o in outcomes] == [("failed", "RuntimeError: store says no")]


def test_code_sees_upstream_names_and_upstream_scoping(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        trigger_yaml(
            "Names",
            "e",
            """
            def execute(self, event):
                class P(BaseModel):
                    n: int
                when = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
                return TEventixTask(
                    task=self.name,
                    args=[self.event_name, event.payload_object(P).n, event.name],
                    eta=when,
                )
            """,
        ),
    )
    # as upstream's exec(code, module globals, locals): names bound at the top of the code block
    # are not visible inside execute
    write(
        tmp_path,
        "b.yaml",
        trigger_yaml(
            "TopLevelImport",
            "e",
            """
            import json
            def execute(self, event):
                return TEventixTask(task=json.dumps(1))
            """,
        ),
    )
    outcomes, posted = run(tmp_path, "e", payload={"n": 5})
    assert posted[0]["task"] == "Names"
    assert posted[0]["args"] == ["e", 5, "e"]
    assert posted[0]["eta"].startswith("2026-01-01T00:00:00")
    assert (outcomes[1].result, outcomes[1].reason) == (
        "failed",
        "NameError: name 'json' is not defined (line 3)",
    )


def test_one_run_does_not_leak_into_the_next(tmp_path: Path) -> None:
    code = """
    def execute(self, event):
        global counter
        counter = globals().get("counter", 0) + 1
        return TEventixTask(task="t", args=[counter])
    """
    write(tmp_path, "a.yaml", trigger_yaml("T", "e", code))
    triggers = load_directory(tmp_path)
    first = run_event(triggers, make_event({"name": "e"}), lambda d: d)
    second = run_event(triggers, make_event({"name": "e"}), lambda d: d)
    assert first[0].task["args"] == second[0].task["args"] == [1]


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        ("SystemExit(3)", "SystemExit: 3 (line 2)"),
        ("KeyboardInterrupt()", "KeyboardInterrupt:  (line 2)"),
        ("GeneratorExit('bye')", "GeneratorExit: bye (line 2)"),
        ("type('Odd', (BaseException,), {})('x')", "Odd: x (line 2)"),
    ],
)
def test_a_base_exception_fails_only_its_trigger(tmp_path: Path, raised: str, reason: str) -> None:
    # On the server, trigger code that raises SystemExit, KeyboardInterrupt or any other
    # BaseException is that trigger's failure: logged and skipped, the next trigger still runs.
    write(tmp_path, "a.yaml", trigger_yaml("Bad", "e", f"def execute(self, event):\n    raise {raised}"))
    write(
        tmp_path,
        "b.yaml",
        trigger_yaml("Ok", "e", "def execute(self, event):\n    return TEventixTask(task='ok')"),
    )
    triggers = load_directory(tmp_path)
    posted: list[dict] = []
    outcomes = run_event(
        triggers, make_event({"name": "e"}), lambda doc: posted.append(doc) or doc, interrupts=()
    )
    assert [(o.trigger, o.result, o.reason) for o in outcomes] == [
        ("Bad", "failed", reason),
        ("Ok", "created", None),
    ]
    assert [d["task"] for d in posted] == ["ok"]


def test_keyboard_interrupt_still_stops_a_local_run(tmp_path: Path) -> None:
    # ``eventix trigger test`` runs on the user's terminal: Ctrl-C there must still stop it.
    write(
        tmp_path, "a.yaml", trigger_yaml("T", "e", "def execute(self, event):\n    raise KeyboardInterrupt")
    )
    with pytest.raises(KeyboardInterrupt):
        run_event(load_directory(tmp_path), make_event({"name": "e"}), lambda doc: doc)
