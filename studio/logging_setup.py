"""The studio's log: one rotating file in the data folder, so a bug report can attach it. Qt-free."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from studio import paths

LOGGER_NAME = "studio"
_MAX_BYTES = 2_000_000
_BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: int = logging.INFO) -> Path:
    """Send the ``studio`` logger to a rotating file at ``paths.log_file()`` and return that path.

    Calling it again (a second window, a test) replaces the studio's handler instead of adding another, so no
    line is written twice; a changed ``DIFFUSION_STUDIO_HOME`` moves the log with it.
    """
    path = paths.log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        if getattr(handler, "_studio_handler", False):
            logger.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8", delay=True
    )
    handler._studio_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    return path
