"""Which certificate authorities the client trusts, and how a failed check is explained.

In order, the first that is set wins:

1. ``EVENTIX_VERIFY=false`` (or ``verify = false`` in a profile): no verification at all;
2. ``EVENTIX_CA_BUNDLE`` (or ``ca_bundle``): only that PEM file, or directory of hashed PEMs;
3. ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, the variables OpenSSL, curl and Python read: only those;
4. otherwise the operating system's trust store (through ``truststore``: the platform's own
   verifier on macOS and Windows, the distribution's bundle on Linux) and certifi's bundle.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

from eventix_cli.core.errors import UsageError

ENV_SSL_CERT_FILE = "SSL_CERT_FILE"
ENV_SSL_CERT_DIR = "SSL_CERT_DIR"


def ssl_context(verify: bool | str, env: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """The TLS context for ``verify``: ``False``, a CA bundle path, or ``True`` (see module doc)."""
    env = os.environ if env is None else env
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, str):
        return _from_locations(verify, "EVENTIX_CA_BUNDLE", env)
    cafile, capath = env.get(ENV_SSL_CERT_FILE) or None, env.get(ENV_SSL_CERT_DIR) or None
    if cafile or capath:
        try:
            return ssl.create_default_context(cafile=cafile, capath=capath)
        except (OSError, ssl.SSLError) as exc:
            where = " and ".join(
                f"{name}={value}"
                for name, value in ((ENV_SSL_CERT_FILE, cafile), (ENV_SSL_CERT_DIR, capath))
                if value
            )
            raise UsageError(f"cannot load the CA certificates of {where}: {_reason(exc)}") from exc
    return _system_context()


def _from_locations(path: str, name: str, env: Mapping[str, str]) -> ssl.SSLContext:
    expanded = os.path.expanduser(path)
    try:
        if os.path.isdir(expanded):
            return ssl.create_default_context(capath=expanded)
        return ssl.create_default_context(cafile=expanded)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"cannot load CA bundle {path} ({name}): {_reason(exc)}",
            hint="it must be a PEM file of CA certificates, or a directory of them",
        ) from exc


def _system_context() -> ssl.SSLContext:
    # deferred: only https URLs need them (certifi ~20 ms of import); tests/test_startup.py
    # pins them off the start-up of commands sent over http
    import certifi

    try:
        import truststore
    except ImportError:  # pragma: no cover - a declared dependency; kept working without it
        return ssl.create_default_context(cafile=certifi.where())
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(certifi.where())
    return context  # type: ignore[return-value]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def trust_source(verify: bool | str, env: Mapping[str, str] | None = None) -> str:
    """What the certificate was checked against, for error messages."""
    env = os.environ if env is None else env
    if isinstance(verify, str):
        return f"the CA bundle {verify}"
    names = [f"{name}={env[name]}" for name in (ENV_SSL_CERT_FILE, ENV_SSL_CERT_DIR) if env.get(name)]
    if names:
        return " and ".join(names)
    return "the system trust store and certifi's bundle"


def verification_hint(verify: bool | str) -> str:
    return (
        f"checked against {trust_source(verify)}: set EVENTIX_CA_BUNDLE (or SSL_CERT_FILE / "
        "SSL_CERT_DIR) to the PEM file of the CA that signed the server's certificate, or add "
        "that CA to the system trust store; EVENTIX_VERIFY=false skips the check (insecure)"
    )
