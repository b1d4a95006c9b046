"""The journal of changes: what each task-changing command did, with the before-images of the
tasks it changed or deleted, so ``eventix undo`` can put them back.

``writer`` appends one entry while a command runs (durable before the change is sent);
``reader`` lists and reads the entries. A library: it never imports the command line, and it
knows nothing of HTTP (the undo itself is a command).
"""
