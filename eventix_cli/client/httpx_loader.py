"""httpx, imported without its command line.

httpx's own command line (``httpx._main``) pulls in rich, pygments and click at import time,
a third of httpx's import cost; eventix-cli never uses it. A ``None`` entry in ``sys.modules``
is Python's documented way to make that one import fail, and httpx falls back to a stub
``main``. Every module of ours that needs httpx imports it from here, so whichever is imported
first (the client's sender, the worker's kept-alive connections, the urllib3 transport) gets
the light import.
"""

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx

__all__ = ["httpx"]
