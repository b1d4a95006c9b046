"""The typed Eventix client and its wire: one API, one vocabulary of answers and errors.

:mod:`.api` is :class:`~eventix_cli.client.api.EventixClient`, one method per endpoint; below it
the sender (retries, error mapping) and two ways of sending: httpx over urllib3 for commands,
and the worker's kept-alive connections (:mod:`.keepalive`). Knows HTTP, nothing of terminals.

May import: ``core``, ``config``. Never ``cli``.
"""
