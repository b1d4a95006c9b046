"""`eventix server --tls-cert --tls-key`: HTTPS with a throwaway CA (trustme), the token from a
file, bad certificate or key paths refused at start, and the warnings of an exposed server."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from eventix_cli.cli.commands.server import exposure_warnings
from tests.support.cli_process import assert_one_error, run
from tests.support.servers import child_env, free_port, wait_healthy

TOKEN = "s3cret-from-a-file"


@pytest.fixture(scope="module")
def tls_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = folder / "cert.pem", folder / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    for pem in issued.cert_chain_pems[1:]:
        pem.write_to_path(str(cert), append=True)
    issued.private_key_pem.write_to_path(str(key))
    return cert, key


@pytest.fixture(scope="module")
def tls_server(
    tls_files: tuple[Path, Path], ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An HTTPS server whose token comes from a file (EVENTIX_SERVER_TOKEN_FILE)."""
    cert, key = tls_files
    folder = tmp_path_factory.mktemp("tls-server")
    token_file = folder / "token"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    command = [sys.executable, "-m", "eventix_cli", "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--db", ":memory:", "--tls-cert", str(cert), "--tls-key", str(key)]
    env = {k: v for k, v in child_env().items() if not k.startswith("EVENTIX_")}
    env["EVENTIX_SERVER_TOKEN_FILE"] = str(token_file)
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_healthy(url, process, token=TOKEN, verify=ssl.create_default_context(cafile=str(ca_file)))
        yield url
    finally:
        process.terminate()
        process.wait(15)
    assert process.returncode == 0, log.read_text()
    assert f"eventix server listening on {url}" in log.read_text()


def _trusting(ca_file: Path, token_file: Path) -> dict[str, str]:
    return {"EVENTIX_CA_BUNDLE": str(ca_file), "EVENTIX_TOKEN_FILE": str(token_file)}


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "client-token"
    path.write_text(TOKEN + "\n")
    return path


def test_a_tls_server_answers_ping_with_the_ca_bundle(
    tls_server: str, ca_file: Path, token_file: Path, tmp_path: Path
) -> None:
    proc = run("ping", url=tls_server, tmp_path=tmp_path, env=_trusting(ca_file, token_file))
    assert proc.returncode == 0, proc.stderr
    assert f"url      {tls_server}" in proc.stdout.decode()
    assert "healthy" in proc.stdout.decode()


def test_a_tls_server_is_refused_without_the_ca_bundle(
    tls_server: str, token_file: Path, tmp_path: Path
) -> None:
    env = {"EVENTIX_TOKEN_FILE": str(token_file), "SSL_CERT_FILE": "", "SSL_CERT_DIR": ""}
    proc = run("ping", url=tls_server, tmp_path=tmp_path, env=env)
    assert_one_error(proc, 3, "CertificateVerifyFailed")


def test_the_token_files_of_server_and_client_agree(
    tls_server: str, ca_file: Path, token_file: Path, tmp_path: Path
) -> None:
    proc = run("task", "list", "-A", url=tls_server, tmp_path=tmp_path, env=_trusting(ca_file, token_file))
    assert proc.returncode == 0, proc.stderr
    without = run(
        "task", "list", "-A", url=tls_server, tmp_path=tmp_path, env={"EVENTIX_CA_BUNDLE": str(ca_file)}
    )
    assert_one_error(without, 4)


def test_plain_http_is_not_served_on_the_tls_port(tls_server: str, token_file: Path, tmp_path: Path) -> None:
    clear = tls_server.replace("https://", "http://")
    env = {"EVENTIX_TOKEN_FILE": str(token_file)}
    proc = run("ping", "--request-timeout", "5", url=clear, tmp_path=tmp_path, env=env)
    assert proc.returncode != 0
    assert b"healthy" not in proc.stdout


@pytest.mark.parametrize(
    "which",
    ["missing cert", "missing key", "key of another cert", "cert without key", "not PEM"],
)
def test_bad_certificate_or_key_is_one_line_exit_2(
    which: str, tls_files: tuple[Path, Path], ca: trustme.CA, tmp_path: Path
) -> None:
    cert, key = tls_files
    other_key = tmp_path / "other-key.pem"
    ca.issue_cert("127.0.0.1").private_key_pem.write_to_path(str(other_key))
    not_pem = tmp_path / "garbage.pem"
    not_pem.write_text("not a certificate\n")
    args = {
        "missing cert": ["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(key)],
        "missing key": ["--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope.pem")],
        "key of another cert": ["--tls-cert", str(cert), "--tls-key", str(other_key)],
        "cert without key": ["--tls-cert", str(cert)],
        "not PEM": ["--tls-cert", str(not_pem), "--tls-key", str(key)],
    }[which]
    port = str(free_port())
    proc = run(
        "server", "--db", ":memory:", "--port", port, *args, url="http://127.0.0.1:1", tmp_path=tmp_path
    )
    line = assert_one_error(proc, 2)
    assert "TLS" in line or "--tls-key" in line, line
    if which.startswith("missing"):
        assert "nope.pem" in line


def test_an_exposed_server_is_warned_about_what_it_lacks() -> None:
    assert exposure_warnings("0.0.0.0", token=True, tls=True) == []
    [clear] = exposure_warnings("0.0.0.0", token=True, tls=False)
    assert "without TLS" in clear
    assert "the token" in clear
    assert "--tls-cert" in clear
    both = exposure_warnings("10.0.0.5", token=False, tls=False)
    assert len(both) == 2
    assert "without a token" in both[0]
    assert "without TLS" in both[1]
    [open_door] = exposure_warnings("0.0.0.0", token=False, tls=True)
    assert "without a token" in open_door


def test_a_server_token_file_that_cannot_be_read_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {"EVENTIX_SERVER_TOKEN_FILE": str(tmp_path / "missing-token")}
    args = ("server", "--db", ":memory:", "--port", str(free_port()))
    proc = run(*args, url="http://127.0.0.1:1", tmp_path=tmp_path, env=env)
    line = assert_one_error(proc, 2, "EVENTIX_SERVER_TOKEN_FILE")
    assert "missing-token" in line
