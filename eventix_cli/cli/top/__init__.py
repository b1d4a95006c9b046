"""The interactive ``eventix top`` on Textual: the app (``app``), its views (``namespaces``,
``tasks``, ``detail``, ``running``), the dialogs, the key table, the bounded window of loaded
task pages, the actions and the live refresh. Only ``eventix top`` on a terminal imports this
package (tests/test_startup.py pins that Textual stays off every other command)."""
