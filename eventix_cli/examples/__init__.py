"""Sample task functions shipped with eventix-cli, used by `eventix tour`."""
