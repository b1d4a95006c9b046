"""The command line: the only layer with Typer, rich and stdout.

The application and its lazy command table (:mod:`.app`, :mod:`.lazy`), shared options, output
and tables, help polishing, shell completion, and ``commands/`` (one module per verb). A command
parses options, calls the client or a library, and hands results to :mod:`.output`.

May import: everything of ours. Nothing else of ours imports this package.
"""
