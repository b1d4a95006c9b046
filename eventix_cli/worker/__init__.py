"""The worker: a library the ``eventix worker`` command starts; it imports neither Typer nor rich.

Who does what, and where each guarantee is kept:

- :mod:`.supervisor` (main thread): owns the task threads, lease renewal, stop requests (flags
  only), the health file and the shutdown; releases what a dead thread held and replaces it.
- :mod:`.lane` (one per ``--concurrency``): claims a task, runs one attempt, hands the outcome
  to the write-back, claims the next.
- :mod:`.attempt`: one attempt of one task -> an outcome; never raises, whatever the task does.
- :mod:`.writeback`: the claim-checked writes (outcome, release, unreadable claims): only while
  the claim is still this worker's.
- :mod:`.leases`: lease renewal of running attempts, never resurrecting a deleted task.
- :mod:`.outcome`: upstream's done/retry/error rules; :mod:`.outage`: capped backoff;
  :mod:`.registry`, :mod:`.context`, :mod:`.config`, :mod:`.claimed`: the parts they share.
"""
