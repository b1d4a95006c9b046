"""The worker: registry of task functions, the claim/run/write-back loop, task contexts.

A library the ``eventix worker`` command starts; it imports neither Typer nor rich.
"""
