"""The studio's preferences: a small versioned JSON file in the data folder. Qt-free: the CLI reads it too.

Window geometry, folders, theme and engine preferences. The session (prompt, settings, queue) lives apart in
``session.py`` because it changes on every keystroke while these change rarely.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from studio import paths
from studio.atomic import keep_aside

if TYPE_CHECKING:
    from studio.models.model_folders import ModelFolders

log = logging.getLogger("studio.settings")

SETTINGS_VERSION = 1
THEMES = ("dark", "light")
VRAM_CHOICES = ("auto", "high", "medium", "low")  # studio.engine.memory_tiers says what each tier does


@dataclass
class AppSettings:
    """Preferences kept between runs. ``output_folder`` None means ``paths.outputs_dir()``."""

    theme: str = "dark"
    output_folder: str | None = None
    model_dirs: list[str] = field(default_factory=list)  # A1111 / ComfyUI folders to look in
    extra_models: list[str] = field(default_factory=list)  # single files or folders added with "Add model…"
    lora_dirs: list[str] = field(default_factory=list)  # A1111/ComfyUI roots or LoRA folders, beside our own
    window_geometry: str = ""  # QWidget.saveGeometry() as base64
    window_state: str = ""  # QMainWindow.saveState() as base64
    torch_threads: int | None = None  # None: all cores but one, so the window stays responsive
    allow_pickle: bool = False
    # controlnet-aux weights (lllyasviel/Annotators files) for depth, soft edge, pose detection...; the
    # environment variable DIFFUSION_STUDIO_ANNOTATORS overrides it. Added without a version bump: an older
    # file simply lacks the key (the default), and an older studio ignores it.
    annotators_folder: str | None = None
    # Where downloads go and models are looked for first: None is paths.models_dir(); an A1111/ComfyUI install
    # is followed in its own layout (see ``studio.models.model_folders``). Added without a version bump too.
    models_folder: str | None = None
    # ComfyUI servers ({"name": ..., "url": ...}; tokens are never kept here) and the name of the one that
    # generates ("" = this computer). Added without a version bump too.
    servers: list[dict[str, str]] = field(default_factory=list)
    active_server: str = ""
    # The window's queue (Servers…): servers with "enabled": "no" get no jobs; ``local_fallback`` lets the local
    # engine take the jobs no server can run.
    local_fallback: bool = True
    # Performance (studio.engine.memory_tiers, fast_mode): also added without a version bump.
    vram: str = "auto"
    fast_mode: bool = False
    fp8_weights: bool = False
    taesd_folder: str | None = None  # an AutoencoderTiny folder: full-size step previews
    # The first-run offer of other tools' model folders was answered ("Use these" or "Not now"): not made again
    # on its own (the welcome page's "Look for them" still asks). Added without a version bump too.
    found_folders_offered: bool = False

    def outputs(self) -> Path:
        return Path(self.output_folder) if self.output_folder else paths.outputs_dir()

    def models(self) -> Path:
        """The models folder the artist chose, or the studio's own."""
        return Path(self.models_folder) if self.models_folder else paths.models_dir()

    def model_folders(self) -> ModelFolders:
        """Where checkpoints, ControlNets and LoRAs of the artist's models folder live."""
        from studio.models.model_folders import model_folders

        return model_folders(self.models_folder)

    def model_search_dirs(self) -> list[Path]:
        """Folders model discovery looks in besides the studio's own: the models folder, A1111/ComfyUI
        installs, and the folders of models added one by one."""
        extra = [Path(p) if Path(p).is_dir() else Path(p).parent for p in self.extra_models]
        chosen = [self.model_folders().checkpoints] if self.models_folder else []
        return chosen + [Path(p) for p in self.model_dirs] + extra

    def controlnet_folders(self) -> list[Path]:
        """The folders ControlNets are listed from: the models folder's, the studio's own, then added folders."""
        from studio.models.model_folders import model_folders

        # Model folders added by hand (the demo set among them) may hold ControlNets beside the checkpoints;
        # only real ControlNets are listed from them (``controlnet.is_controlnet``).
        added = [Path(folder) for folder in self.model_dirs]
        return list(dict.fromkeys([self.model_folders().controlnets, model_folders().controlnets, *added]))

    def lora_roots(self) -> list[str]:
        """LoRA folders beside the studio's own: those added in the LoRA tab, and model folders of A1111 or
        ComfyUI installs (their models/Lora or models/loras) or in the studio's layout (their loras/, as in the
        demo set)."""
        from studio.models.model_folders import LORA_FOLDER

        roots = list(self.lora_dirs)
        if self.models_folder:
            roots.insert(0, str(self.model_folders().loras))
        for folder in self.model_dirs:
            leaves = ("models/Lora", "models/loras", LORA_FOLDER)
            has_loras = any((Path(folder) / leaf).is_dir() for leaf in leaves)
            if has_loras and folder not in roots:
                roots.append(folder)
        return roots

    def engine_threads(self) -> int:
        if self.torch_threads:
            return self.torch_threads
        return max(1, (os.cpu_count() or 2) - 1)


def settings_file() -> Path:
    return paths.data_dir() / "settings.json"


def load_settings(path: Path | None = None) -> tuple[AppSettings, str | None]:
    """Read the preferences. A missing file gives the defaults; an unreadable one gives the defaults and a
    sentence for the artist (the bad file is kept beside as ``.bad`` so nothing is silently thrown away)."""
    path = path or settings_file()
    if not path.exists():
        return AppSettings(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        version = data.get("version", SETTINGS_VERSION)
        if not isinstance(version, int) or version > SETTINGS_VERSION:
            raise ValueError(f"unknown format version {version!r}")
        known = {f.name for f in fields(AppSettings)}
        settings = AppSettings(**{k: v for k, v in data.items() if k in known})
        if settings.theme not in THEMES:
            raise ValueError(f"unknown theme {settings.theme!r}")
        if not isinstance(settings.annotators_folder, str | None):
            raise ValueError(f"unusable annotators folder {settings.annotators_folder!r}")
        if not isinstance(settings.models_folder, str | None):
            raise ValueError(f"unusable models folder {settings.models_folder!r}")
        if not _servers_ok(settings.servers) or not isinstance(settings.active_server, str):
            raise ValueError(f"unusable server list {settings.servers!r}")
        if settings.vram not in VRAM_CHOICES:
            raise ValueError(f"unknown VRAM setting {settings.vram!r}")
        return settings, None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("unreadable settings %s: %s", path, exc)
        backup = keep_aside(path)
        return AppSettings(), (
            f"Your preferences could not be read ({exc}), so the defaults are used. The old file was kept as "
            f"'{backup}'."
        )


def _servers_ok(servers: object) -> bool:
    return isinstance(servers, list) and all(
        isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("url"), str) for s in servers
    )


def save_settings(settings: AppSettings, path: Path | None = None) -> None:
    """Write the preferences atomically (raises ``SaveError`` when the data folder is not writable)."""
    from studio.atomic import atomic_write_text

    path = path or settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"version": SETTINGS_VERSION, **asdict(settings)}, indent=2))
