"""Run ``python -m eventix_cli`` as a real process and check its one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import PROXY_VARIABLES, REPO_ROOT


def run(
    *args: str, url: str, tmp_path: Path, stdin: bytes = b"", env: dict[str, str] | None = None, **kwargs
) -> subprocess.CompletedProcess[bytes]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EVENTIX_") and k.upper() not in PROXY_VARIABLES and k != "PYTHONIOENCODING"
    }
    base |= {
        "EVENTIX_CONFIG_DIR": str(tmp_path / "config"),
        "EVENTIX_STATE_DIR": str(tmp_path / "state"),
        "EVENTIX_URL": url,
        "PYTHONPATH": str(REPO_ROOT),
    }
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "eventix_cli", *args],
        input=stdin,
        stderr=subprocess.PIPE,
        env=base | (env or {}),
        cwd=tmp_path,
        timeout=60,
        check=False,
        **kwargs,
    )


def assert_one_error(proc: subprocess.CompletedProcess[bytes], code: int, *expected: str) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == code, err
    assert "Traceback" not in err, err
    assert "╭" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    for text in expected:
        assert text in lines[0], err
    return lines[0]
