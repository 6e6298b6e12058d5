"""A server address as the artist typed it: checked, tidied, and a warning when it would expose the token.

A token sent over plain http to another machine can be read by anyone on the way (a café's Wi-Fi, a shared
office network), and so can every picture. Loopback addresses never leave the machine, so they get no warning.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

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
    warning = ""
    if parts.scheme.lower() == "http" and not is_local_host(host):
        warning = (
            f"This is plain http to another machine ({host}): the token and your pictures cross the network "
            "unencrypted, readable by anyone on the way. Use https (a reverse proxy or a tunnel) for a server "
            "that is not this computer."
        )
    return UrlCheck(url, "", warning)


def is_local_host(host: str) -> bool:
    """True for this machine: ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warn_if_plain(name: str, url: str) -> str:
    """The plain-http warning for a server (logged, and returned for the window); "" when there is none."""
    warning = check_url(url).warning
    if warning:
        log.warning("server '%s' at %s is reached over plain http: its token and images are not encrypted", name, url)
    return warning
