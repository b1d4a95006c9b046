"""The task domain: statuses, fields and defaults, times, JSON rules, queries, outcomes, errors,
the escaping of text for terminals and logs.

No HTTP, no Typer, no rich; pydantic only in :mod:`.task` (the model) and :mod:`.outcome` (rules
applied to it), which the fast read path does not load. :mod:`.fields` is the one table of task
fields and defaults the model, the fast read path (:mod:`.view`) and the server read.

May import: nothing of ours outside ``core``. Everything else may import it.
"""
