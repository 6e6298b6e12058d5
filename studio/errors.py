"""Errors that teach.

Every error the studio raises on purpose is a ``StudioError``: its text is a plain sentence that says what was
wrong and what to do, fit to show an artist as it is. Anything else reaching the UI is a bug, shown as
"something went wrong" with the detail one click away.
"""

from __future__ import annotations


class StudioError(Exception):
    """A problem the artist can act on. ``str(error)`` is the whole message."""


class RequestError(StudioError):
    """The generation request has a value the engine cannot use (bad size, unknown sampler, ...)."""


class ModelError(StudioError):
    """A model reference cannot be found, read or loaded."""


class MetadataError(StudioError):
    """An image's embedded settings cannot be read."""


class SaveError(StudioError):
    """An image or file could not be written; the data is still held in memory."""
