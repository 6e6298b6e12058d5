"""Where servers' access tokens are kept: the OS keyring when there is one, else a private file.

The keyring (macOS Keychain, Windows Credential Locker, the Secret Service on Linux, through the ``keyring``
package) is tried first; a machine without one (no package, no keyring service, a locked or broken one) keeps
tokens in ``server-tokens.json`` in the settings folder, readable by the artist's account alone (0600) and
written atomically. Tokens are keyed by the server's URL, so a token never follows a renamed entry to another
host. Nothing here logs a token: only where it was kept.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from studio import paths
from studio.atomic import atomic_write_text, keep_aside

log = logging.getLogger("studio.backend.credentials")

SERVICE = "diffusion-studio"  # the keyring's entry name; each server's URL is the "user"
KEYRING, FILE = "keyring", "file"


def tokens_file() -> Path:
    return paths.data_dir() / "server-tokens.json"


def store_token(url: str, token: str) -> str:
    """Keep ``token`` for the server at ``url`` ("" forgets it). Returns where: ``KEYRING`` or ``FILE``."""
    if not token:
        forget_token(url)
        return KEYRING
    keyring = _keyring()
    if keyring is not None:
        try:
            keyring.set_password(SERVICE, url, token)
        except Exception as exc:  # noqa: BLE001 - no backend, a locked keyring, a D-Bus error: use the file
            log.info("no usable keyring (%s): the token for %s goes to the private file", type(exc).__name__, url)
        else:
            _write_file_token(url, "")  # an older copy in the file must not outlive the keyring's
            return KEYRING
    _write_file_token(url, token)
    return FILE


def load_token(url: str) -> str:
    """The token kept for ``url`` ("" when none)."""
    keyring = _keyring()
    if keyring is not None:
        try:
            token = keyring.get_password(SERVICE, url)
        except Exception as exc:  # noqa: BLE001 - see store_token
            log.info("no usable keyring (%s): reading the private file", type(exc).__name__)
        else:
            if token:
                return str(token)
    return _read_file().get(url, "")


def forget_token(url: str) -> None:
    """Remove the token of ``url`` from the keyring and the file (a removed server leaves no secret behind)."""
    keyring = _keyring()
    if keyring is not None:
        try:
            if keyring.get_password(SERVICE, url) is not None:
                keyring.delete_password(SERVICE, url)
        except Exception as exc:  # noqa: BLE001 - nothing there, or no keyring: the file is still cleaned
            log.info("keyring not cleaned for %s (%s)", url, type(exc).__name__)
    _write_file_token(url, "")


def _keyring() -> Any:
    """The ``keyring`` module, imported on first use (it looks for its backends when imported); None without it."""
    try:
        import keyring
    except Exception:  # noqa: BLE001 - not installed, or a backend that fails as it loads
        return None
    return keyring


def _read_file() -> dict[str, str]:
    path = tokens_file()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, dict):
            raise ValueError("no 'tokens' object")
        return {str(url): token for url, token in tokens.items() if isinstance(token, str)}
    except (OSError, ValueError) as exc:
        # Kept aside, not deleted: the artist may still want what was in it.
        log.warning("unreadable token file %s (%s); kept as %s", path, type(exc).__name__, keep_aside(path))
        return {}


def _write_file_token(url: str, token: str) -> None:
    tokens = _read_file()
    if token:
        tokens[url] = token
    elif url in tokens:
        del tokens[url]
    else:
        return  # nothing to change: no file is made for nothing
    path = tokens_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"version": 1, "tokens": tokens}, indent=2), private=True)
