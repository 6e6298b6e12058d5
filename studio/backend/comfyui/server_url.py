"""A server address as the artist typed it in Servers…: checked field by field (what exactly is wrong with it),
tidied, and warned about when it would expose the token.

A token sent over plain http to another machine can be read by anyone on the way (a café's Wi-Fi, a shared
office network), and so can every picture; ``connection.insecure_warning`` says so, and it is logged here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from studio.backend.comfyui.connection import insecure_warning

log = logging.getLogger("studio.backend.servers")


@dataclass(frozen=True)
class UrlCheck:
    url: str  # tidied: scheme, host, port, path without a trailing slash; "" when ``problem``
    problem: str = ""  # why it cannot be used, for the artist
    warning: str = ""  # plain http to another machine


def check_url(text: str) -> UrlCheck:
    """``http://host:port`` (or https, or ``host:port`` alone, taken as http) checked and tidied."""
    text = text.strip()
    if not text:
        return UrlCheck("", "Enter the server's address, such as http://127.0.0.1:8188.")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        return UrlCheck("", f"The address must start with http:// or https://, not {parts.scheme}://.")
    if parts.username or parts.password:
        return UrlCheck("", "Put the password in the Token field, not in the address: the address is shown and "
                            "logged, the token never is.")  # fmt: skip
    if parts.query or parts.fragment:
        return UrlCheck("", "The address must not have ?… or #… parts: only http(s)://host:port.")
    try:
        port = parts.port
    except ValueError:
        return UrlCheck("", "The port after ':' must be a number from 1 to 65535 (ComfyUI's own is 8188).")
    host = parts.hostname or ""
    if not host:
        return UrlCheck("", "The address has no host name: write it as http://host:8188.")
    shown_host = f"[{host}]" if ":" in host else host
    url = f"{parts.scheme.lower()}://{shown_host}{f':{port}' if port else ''}{parts.path.rstrip('/')}"
    return UrlCheck(url, "", insecure_warning(url))


def warn_if_plain(name: str, url: str) -> str:
    """The plain-http warning for a server (logged, and returned for the window); "" when there is none."""
    warning = check_url(url).warning
    if warning:
        log.warning("server '%s' at %s is reached over plain http: its token and images are not encrypted", name, url)
    return warning
