"""Client text in the server's log lines is escaped: a newline in an event name cannot forge
a log line, a terminal escape in a worker id cannot restyle the operator's screen."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.servers import running_server

FORGED = "2026-01-01 00:00:00,000 [    INFO] forged line"


def test_client_text_in_the_servers_log_is_escaped(tmp_path: Path) -> None:
    with running_server("embedded", tmp_path) as server:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http:
            name = f"evil\n{FORGED}\r\x1b[31mred\x1b[0m"
            r = http.post("/event", json={"name": name, "namespace": "ns\nforged namespace"})
            assert r.status_code == 200, r.text
        log = server.log()
    lines = log.splitlines()
    assert not any(line.startswith(FORGED) for line in lines), log
    assert not any(line.startswith("forged namespace") for line in lines), log
    assert "\x1b" not in log
    posted = [line for line in lines if "evil" in line]
    assert len(posted) == 1, log
    assert f"evil\\n{FORGED}\\r\\e[31mred\\e[0m" in posted[0]
    assert "ns\\nforged namespace" in posted[0]
