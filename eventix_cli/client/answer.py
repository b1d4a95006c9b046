"""The wire's vocabulary: the answer a request gets, and how sending it can fail.

Both ways of sending (urllib3's pools through :mod:`eventix_cli.client.transport`, the worker's
kept-alive connections in :mod:`eventix_cli.client.keepalive`) return an :class:`Answer` and fail
with httpx's transport errors, a refused certificate as :class:`TlsVerificationError`, so
:class:`~eventix_cli.client.sender.HttpSender` applies one retry policy and one error mapping to
both, and :mod:`eventix_cli.client.wire` reads one kind of answer. This module sits below the
sender, the wire format and both ways of sending, and imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from eventix_cli.client.httpx_loader import httpx

#: the most bytes of one answer (its head included) either way of sending reads: a task document
#: is at most the server's body limit (16 MiB). A larger answer (or one whose ``Content-Length``
#: says so) is refused with :data:`ANSWER_TOO_LARGE` as the reason, not held in memory
MAX_ANSWER_BYTES = 64 * 1024 * 1024
ANSWER_TOO_LARGE = (
    f"the answer is larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB (MAX_ANSWER_BYTES), "
    "the most this client reads"
)


class Answer:
    """One answer to one request: status, headers (read case-insensitively by their lower-case
    names), the whole body, and the request it answers (method and path)."""

    __slots__ = ("content", "headers", "method", "path", "status_code")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes, method: str, path: str):
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.method = method
        self.path = path

    def __repr__(self) -> str:
        return f"<Answer {self.status_code} to {self.method} {self.path}>"


class TlsVerificationError(httpx.ConnectError):
    """The server's TLS certificate failed verification (unknown CA, wrong host name, expired)."""
