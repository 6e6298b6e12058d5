"""Is a server usable? Reachable, which ComfyUI, which of the nodes the studio needs it lacks, its device and free
memory: what the server settings show when the artist saves a server, in plain words."""

from __future__ import annotations

from dataclasses import dataclass

from studio.backend.comfyui.answers import expect_list, expect_mapping, expect_number, expect_str
from studio.backend.comfyui.errors import ServerError
from studio.backend.comfyui.http_client import ComfyClient, is_local
from studio.backend.comfyui.server_config import ServerConfig

# Every node a studio graph may use, and what the artist loses without it (all are ComfyUI's own nodes).
REQUIRED_NODES: dict[str, str] = {
    "CheckpointLoaderSimple": "loading models",
    "CLIPTextEncode": "the prompt",
    "ConditioningConcat": "BREAK in prompts",
    "EmptyLatentImage": "text to image",
    "KSampler": "generating",
    "VAEDecode": "getting the images",
    "VAEEncode": "img2img and hires fix",
    "LoadImage": "init and control images",
    "LoadImageMask": "inpainting",
    "SetLatentNoiseMask": "inpainting",
    "ImageCompositeMasked": "inpainting (keeping the unmasked part)",
    "ImageScale": "hires fix",
    "LoraLoader": "LoRAs",
    "ControlNetLoader": "ControlNets",
    "ControlNetApplyAdvanced": "ControlNets",
    "SaveImage": "getting the images",
}


@dataclass(frozen=True)
class ServerStatus:
    """What a connection check found. ``error`` (plain words) is set when the server cannot be used at all;
    ``warning`` when it can but the artist should know something (plain http over the network)."""

    reachable: bool
    comfyui_version: str = ""
    missing_nodes: tuple[tuple[str, str], ...] = ()  # (node, what it is for)
    device: str = ""
    free_vram_bytes: int | None = None
    error: str = ""
    warning: str = ""

    @property
    def usable(self) -> bool:
        return self.reachable and not self.error and not self.missing_nodes

    def summary(self) -> str:
        """One paragraph for the settings dialog and the CLI."""
        if not self.reachable or self.error:
            return self.error
        parts = [
            f"ComfyUI {self.comfyui_version or '(version unknown)'} on {self.device or 'an unknown device'}"
        ]
        if self.free_vram_bytes is not None:
            parts[0] += f", {self.free_vram_bytes / 2**30:.1f} GB free"
        if self.missing_nodes:
            needed = "; ".join(f"{node} ({purpose})" for node, purpose in self.missing_nodes)
            parts.append(f"It lacks nodes the studio needs: {needed}. Update ComfyUI or enable those nodes.")
        if self.warning:
            parts.append(self.warning)
        return " ".join(parts)


def insecure_warning(url: str) -> str:
    if url.startswith("http://") and not is_local(url):
        return (
            "The connection is plain http: prompts, images and the access token cross the network unencrypted. "
            "Use https, or a private network you trust."
        )
    return ""


def check_connection(config: ServerConfig, timeout: float = 5.0) -> ServerStatus:
    """Ask ``config``'s server what it is and what it has; never raises for a server problem."""
    try:
        client = ComfyClient(config, timeout)
        stats = expect_mapping(client.get_json("/system_stats"), "the system")
        system = expect_mapping(stats.get("system", {}), "the system")
        version = system.get("comfyui_version", "")
        devices = expect_list(stats.get("devices", []), "the devices")
        device, free = "", None
        if devices:
            first = expect_mapping(devices[0], "the device")
            device = expect_str(first.get("name", ""), "the device name")[:120]
            if "vram_free" in first:
                free = int(expect_number(first["vram_free"], "the free memory"))
        nodes = expect_mapping(client.get_json("/object_info"), "the nodes")
    except ServerError as exc:
        return ServerStatus(reachable=False, error=str(exc))
    missing = tuple((node, purpose) for node, purpose in REQUIRED_NODES.items() if node not in nodes)
    return ServerStatus(
        reachable=True,
        comfyui_version=version[:40] if isinstance(version, str) else "",
        missing_nodes=missing,
        device=device,
        free_vram_bytes=free,
        warning=insecure_warning(client.url),
    )
