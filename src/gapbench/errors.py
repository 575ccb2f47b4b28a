"""Exceptions whose message is meant for the user: the CLI prints them without a traceback."""


class GapbenchError(Exception):
    """Base class: bad input (config, data store, graph) described in words."""


class ConfigError(GapbenchError):
    """A config value is missing, mistyped or outside what is allowed."""


class StoreError(GapbenchError):
    """A data store (Zarr, graph dataset) is missing, malformed or incomplete."""
