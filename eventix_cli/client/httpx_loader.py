"""httpx, imported without its command line.

httpx's ``__init__`` imports its own command line (``httpx._main``), which pulls in rich,
pygments and click: ``import httpx`` took ~130 ms with it and ~80 ms without (``python -X
importtime``, min of 3). eventix-cli never uses it, and neither a worker nor the fast read path
(``task list/show/add``) loads rich or click otherwise. httpx has no public switch for this; it
does import ``._main`` inside ``try/except ImportError`` (its installs without the ``cli``
extra), and a ``None`` entry in ``sys.modules`` is Python's documented way to make one import
raise ``ImportError`` (the import system's "module cache"), so httpx falls back to its stub
``main``. httpx is pinned ``<0.30`` for this; tests/test_startup.py fails if a release imports
its command line another way. Every module of ours that needs httpx imports it from here, so
whichever is imported first (the sender, the wire's answer, both ways of sending) gets the
light import.
"""

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx

__all__ = ["httpx"]
