"""A ComfyUI server the studio may send jobs to."""
from __future__ import annotations
from dataclasses import dataclass
@dataclass(frozen=True)
class ServerConfig:
    name: str
    url: str  # http(s)://host:port, no trailing slash
    token: str = ""  # sent as "Authorization: Bearer <token>"; never logged, never in metadata
