"""What goes wrong talking to a server, in the artist's words."""

from __future__ import annotations

from studio.errors import StudioError


class ServerError(StudioError):
    """The server could not be reached, refused the work, or answered something unusable."""


class ServerUnreachable(ServerError):
    """No answer at all: wrong address, server stopped, network down, timeout."""
