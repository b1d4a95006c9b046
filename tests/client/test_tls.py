"""TLS trust against a real HTTPS server on 127.0.0.1 with a throwaway CA (trustme)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
import trustme
import truststore

from eventix_cli.client.api import EventixClient
from eventix_cli.client.tls import ssl_context
from eventix_cli.core.errors import CertificateVerifyFailed, UsageError
from tests.support.cli_process import assert_one_error, run
from tests.support.hostile_servers import clear_proxy_variables, recording_server

HEALTHY = (200, "application/json", json.dumps({"status": "healthy", "version": "9.9"}).encode())


def _server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture(scope="module")
def https_url(ca: trustme.CA):
    with recording_server(HEALTHY, ssl_context=_server_context(ca, "127.0.0.1", "localhost")) as server:
        yield server.url


@pytest.fixture(autouse=True)
def _no_ssl_or_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_variables(monkeypatch)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_an_unknown_ca_is_reported_with_a_hint_at_the_ca_settings(https_url: str) -> None:
    with EventixClient(https_url, retries=3) as client, pytest.raises(CertificateVerifyFailed) as caught:
        client.health()
    error = caught.value
    assert "TLS certificate" in error.message
    assert "certificate verify failed" in error.message or "unable to get local issuer" in error.message
    assert "is the server running" not in (error.hint or "")
    assert "EVENTIX_CA_BUNDLE" in error.hint
    assert "SSL_CERT_FILE" in error.hint
    assert "system trust store" in error.hint


def test_the_ca_bundle_setting_is_trusted(https_url: str, ca_file: Path) -> None:
    with EventixClient(https_url, verify=str(ca_file)) as client:
        assert client.health()["status"] == "healthy"


def test_ssl_cert_file_is_honoured(https_url: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with EventixClient(https_url) as client:
        assert client.health()["status"] == "healthy"


def test_ssl_cert_dir_is_honoured(
    https_url: str, ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a CA directory holds certificates under their subject hash, as `openssl rehash` names them
    subject_hash = subprocess.run(
        [shutil.which("openssl") or "openssl", "x509", "-hash", "-noout", "-in", str(ca_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copy(ca_file, tmp_path / f"{subject_hash}.0")
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with EventixClient(https_url) as client:
        assert client.health()["status"] == "healthy"


def test_a_certificate_for_another_host_is_refused(ca: trustme.CA, ca_file: Path) -> None:
    with (
        recording_server(HEALTHY, ssl_context=_server_context(ca, "eventix.example")) as server,
        EventixClient(server.url, verify=str(ca_file)) as client,
        pytest.raises(CertificateVerifyFailed, match="mismatch"),
    ):
        client.health()


def test_default_trust_is_the_system_store_and_certifi() -> None:
    import certifi

    context = ssl_context(True, env={})
    assert isinstance(context, truststore.SSLContext)
    certifi_count = Path(certifi.where()).read_text().count("BEGIN CERTIFICATE")
    # truststore does not list what it trusts; the context it wraps holds certifi's bundle
    assert context._ctx.cert_store_stats()["x509_ca"] >= certifi_count


def test_a_broken_ca_bundle_is_bad_input(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(UsageError, match="cannot load CA bundle"):
        ssl_context(str(bogus), env={})
    with pytest.raises(UsageError, match="SSL_CERT_FILE"):
        ssl_context(True, env={"SSL_CERT_FILE": str(bogus)})


def test_cli_tls_failure_and_settings(https_url: str, ca_file: Path, tmp_path: Path) -> None:
    proc = run("ping", url=https_url, tmp_path=tmp_path)
    assert_one_error(proc, 3, "(CertificateVerifyFailed)")
    assert "hint: checked against the system trust store" in proc.stderr.decode()
    for env in (
        {"EVENTIX_CA_BUNDLE": str(ca_file)},
        {"SSL_CERT_FILE": str(ca_file)},
        {"EVENTIX_VERIFY": "false"},
    ):
        proc = run("ping", "-o", "json", url=https_url, tmp_path=tmp_path, env=env)
        assert proc.returncode == 0, (env, proc.stderr)
        assert json.loads(proc.stdout)["status"] == "healthy"
