"""The typed Eventix client and its wire: one API, one vocabulary of answers and errors.

:mod:`.api` is :class:`~eventix_cli.client.api.EventixClient`, one method per endpoint; below it
the sender (retries, error mapping) and two ways of sending: httpx over urllib3 for commands
(:mod:`.transport`), and the worker's kept-alive connections (:mod:`.keepalive`). Both answer
in one vocabulary (:mod:`.answer`, below them all). Knows HTTP, nothing of terminals.

May import: ``core``, ``config``. Never ``cli``.
"""
