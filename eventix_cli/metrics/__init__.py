"""Prometheus metrics: the queue exporter and the small HTTP server both it and the worker use.

May import: ``core``, ``client``. Never ``cli``.
"""
