"""eventix-cli: the command line for operating Eventix task queues."""

__version__ = "0.1.0"
