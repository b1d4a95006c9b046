"""The task domain: statuses, fields and defaults, times, JSON rules, queries, outcomes, errors.

No HTTP, no Typer, no rich; pydantic only in :mod:`.task` (the model), which the fast read path
does not load.

May import: nothing of ours outside ``core``. Everything else may import it.
"""
