"""The real ComfyUI (``../shared/engines/comfyui``, a test fixture the studio never imports) on 127.0.0.1, fed with a
tiny SD1.5-shaped checkpoint, LoRA and ControlNet that this module builds.

ComfyUI builds the text encoder and the VAE from fixed configs, so those have their real shapes (CLIP-L, the SD
VAE); the UNet only has to be detected as SD1.5 (320 channels, 768-wide cross-attention), so it has one level
(about 21 M parameters). Random weights, fp16: about 430 MB, written once per test session. Used by the tests'
session fixture and by the multi-server benchmark.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMFYUI_ENV = "DIFFUSION_STUDIO_COMFYUI"  # another ComfyUI folder than ../shared/engines/comfyui
CHECKPOINT = "tiny-sd15.safetensors"
LORA = "tiny-ink.safetensors"
CONTROLNET = "tiny-control-sd15.safetensors"
# What ComfyUI needs beyond the studio's own dependencies: packaging/comfyui-test-lock.txt installs them.
REQUIRED_MODULES = (
    "aiohttp",
    "alembic",
    "sqlalchemy",
    "av",
    "comfyui_frontend_package",
    "spandrel",
    "kornia",
)


def comfyui_folder() -> Path:
    given = os.environ.get(COMFYUI_ENV)
    return Path(given) if given else ROOT.parent / "shared" / "engines" / "comfyui"


def why_unavailable() -> str | None:
    """Why the real server cannot run here (None when it can)."""
    import importlib.util

    folder = comfyui_folder()
    if not (folder / "main.py").is_file():
        return f"no ComfyUI in {folder} (set {COMFYUI_ENV} to a ComfyUI folder)"
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return (
            f"ComfyUI's dependencies are not installed ({', '.join(missing)}): python3 dev.py test installs "
            "packaging/comfyui-test-lock.txt"
        )
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the tiny models --------------------------------------------------------------------------------------------


def build_components() -> dict:
    """An SD1.5-shaped UNet (one level), the real CLIP-L and SD VAE shapes, random seeded weights."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(320,),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D",),
        up_block_types=("CrossAttnUpBlock2D",),
        cross_attention_dim=768,
        attention_head_dim=8,
        sample_size=8,
        norm_num_groups=32,
    )
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=512,
    )
    torch.manual_seed(0)
    clip = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=768,
            intermediate_size=3072,
            num_attention_heads=12,
            num_hidden_layers=12,
            vocab_size=49408,
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            projection_dim=768,
        )
    )
    return {"unet": unet, "vae": vae, "text_encoder": clip}


def _controlnet_to_ldm(controlnet, unet_config) -> dict:
    """A diffusers ControlNet in the original ``control_model.*`` layout ComfyUI's ControlNetLoader reads."""
    from studio.engine.ldm_export import UNET_PREFIX, unet_to_ldm

    state = controlnet.state_dict()
    own = {k: v for k, v in state.items() if k.startswith(("controlnet_", "controlnet_cond_embedding"))}
    shared = {k: v for k, v in state.items() if k not in own}
    out = {"control_model." + k[len(UNET_PREFIX) :]: v for k, v in unet_to_ldm(shared, unet_config).items()}
    blocks = len(controlnet.controlnet_cond_embedding.blocks)
    for key, value in own.items():
        if key.startswith("controlnet_cond_embedding.conv_in."):
            new = "input_hint_block.0." + key.rsplit(".", 1)[1]
        elif key.startswith("controlnet_cond_embedding.blocks."):
            index, kind = key.split(".")[2], key.rsplit(".", 1)[1]
            new = f"input_hint_block.{2 * (int(index) + 1)}.{kind}"
        elif key.startswith("controlnet_cond_embedding.conv_out."):
            new = f"input_hint_block.{2 * (blocks + 1)}." + key.rsplit(".", 1)[1]
        elif key.startswith("controlnet_down_blocks."):
            index, kind = key.split(".")[1], key.rsplit(".", 1)[1]
            new = f"zero_convs.{index}.0.{kind}"
        else:  # controlnet_mid_block.
            new = "middle_block_out.0." + key.rsplit(".", 1)[1]
        out["control_model." + new] = value
    return out


def write_tiny_models(base: Path) -> dict[str, Path]:
    """The checkpoint, a kohya LoRA and a ControlNet under ``base/models/{checkpoints,loras,controlnet}``."""
    import torch
    from diffusers import ControlNetModel
    from safetensors.torch import save_file

    from studio.engine.ldm_export import sd15_pipeline_to_ldm
    from studio.engine.tiny_addons import write_lora_for

    components = build_components()
    paths = {
        "checkpoint": base / "models" / "checkpoints" / CHECKPOINT,
        "lora": base / "models" / "loras" / LORA,
        "controlnet": base / "models" / "controlnet" / CONTROLNET,
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    state = sd15_pipeline_to_ldm(components["unet"], components["vae"], components["text_encoder"])
    # The family is said the way real files say it (modelspec), so the studio can read it from the server.
    metadata = {"format": "pt", "modelspec.architecture": "stable-diffusion-v1"}
    save_file(
        {k: v.half().contiguous() for k, v in state.items()}, str(paths["checkpoint"]), metadata=metadata
    )
    write_lora_for(paths["lora"], components, "sd15", seed=3, scale=0.2)
    controlnet = ControlNetModel.from_unet(components["unet"])
    torch.manual_seed(1)
    with torch.no_grad():  # untrained zero-convolutions would make the ControlNet a no-op
        for name, parameter in controlnet.named_parameters():
            if "controlnet_down_blocks" in name or "controlnet_mid_block" in name or "conv_out" in name:
                parameter.normal_(0.0, 0.05)
    ldm = {
        k: v.half().contiguous() for k, v in _controlnet_to_ldm(controlnet, components["unet"].config).items()
    }
    save_file(ldm, str(paths["controlnet"]), metadata={"format": "pt"})
    return paths


# --- the server ---------------------------------------------------------------------------------------------------


@dataclass
class ComfyServer:
    """A running ComfyUI; ``url`` is ``http://127.0.0.1:PORT``."""

    process: subprocess.Popen
    url: str
    base: Path
    log: Path
    started_s: float

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(
    base: Path, *, threads: int = 1, port: int | None = None, timeout: float = 90.0
) -> ComfyServer:
    """Start ComfyUI on CPU with its files in ``base`` (models already there) and wait until it answers."""
    port = port or free_port()
    base.mkdir(parents=True, exist_ok=True)
    (base / "custom_nodes").mkdir(exist_ok=True)
    log = base / "comfyui.log"
    command = [
        sys.executable, str(comfyui_folder() / "main.py"), "--cpu", "--listen", "127.0.0.1", "--port", str(port),
        "--disable-auto-launch", "--preview-method", "latent2rgb", "--base-directory", str(base),
        "--output-directory", str(base / "output"), "--database-url", f"sqlite:///{base / 'comfyui.db'}",
        "--disable-all-custom-nodes",
    ]  # fmt: skip
    threads_env = {
        name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    }
    env = {**os.environ, **threads_env, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop(COMFYUI_ENV, None)
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=base, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    server = ComfyServer(process, url, base, log, 0.0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ComfyUI exited ({process.returncode}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url + "/system_stats", timeout=2) as answer:
                if answer.status == 200:
                    server.started_s = time.perf_counter() - started
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"ComfyUI did not answer within {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main() -> None:
    """``python tests/comfyui_server.py DIR``: build the models into DIR and run a server there until Ctrl+C."""
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("comfyui-test")
    if not (base / "models" / "checkpoints" / CHECKPOINT).exists():
        write_tiny_models(base)
    server = start_server(base, threads=int(os.environ.get("THREADS", "1")))
    print(f"ComfyUI at {server.url} (started in {server.started_s:.1f} s); Ctrl+C stops it", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()
        shutil.rmtree(base / "output", ignore_errors=True)


if __name__ == "__main__":
    main()
