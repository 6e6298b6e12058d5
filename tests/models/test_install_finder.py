"""Other tools' model folders found in their usual places under a home folder, and listed by models --find."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_process import ROOT, cli_env  # noqa: E402

from studio.models.install_finder import comfyui_extra_paths, find_model_folders  # noqa: E402


def _model(folder: Path, name: str = "model.safetensors") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"x")


def make_home(home: Path) -> Path:
    _model(home / "stable-diffusion-webui-forge" / "models" / "Stable-diffusion")
    _model(home / "ComfyUI_windows_portable" / "ComfyUI" / "models" / "checkpoints", "a.ckpt")
    _model(home / "shared-models" / "sd")
    (home / "ComfyUI_windows_portable" / "ComfyUI" / "extra_model_paths.yaml").write_text(
        "a111:\n"
        f"    base_path: {home / 'shared-models'}\n"
        "    checkpoints: |\n"
        "        sd\n"
        "        missing\n"
        "    loras: models/Lora\n"
        "other: not a section\n"
    )
    _model(home / "invokeai" / "models" / "sdxl" / "main" / "juggernaut", "model_index.json")
    _model(home / "invokeai" / "models" / "sdxl" / "lora")
    _model(home / "StabilityMatrix" / "Data" / "Models" / "StableDiffusion")
    (home / "ComfyUI").mkdir()  # a folder named like a tool, without its models: not offered
    return home


def test_each_tool_is_found_with_its_model_count(tmp_path):
    home = make_home(tmp_path)
    found = {(f.tool, f.path.relative_to(home).as_posix()): f.models for f in find_model_folders(home)}
    assert found == {
        ("AUTOMATIC1111/Forge", "stable-diffusion-webui-forge"): 1,
        ("ComfyUI", "ComfyUI_windows_portable/ComfyUI"): 1,
        ("ComfyUI extra_model_paths.yaml", "shared-models/sd"): 1,
        ("InvokeAI", "invokeai/models/sdxl/main"): 1,
        ("Stability Matrix", "StabilityMatrix/Data/Models/StableDiffusion"): 1,
    }


def test_invokeai_brings_its_lora_folder_and_an_a1111_root_its_own(tmp_path):
    home = make_home(tmp_path)
    loras = {f.tool: f.loras for f in find_model_folders(home)}
    assert loras["InvokeAI"] == home / "invokeai" / "models" / "sdxl" / "lora"
    # The A1111 root is added as a whole (its models/Lora comes with it); a missing folder is never named.
    assert loras["AUTOMATIC1111/Forge"] is None and loras["Stability Matrix"] is None


def test_a_broken_yaml_names_nothing(tmp_path):
    path = tmp_path / "extra_model_paths.yaml"
    path.write_text("comfy: [unclosed")
    assert comfyui_extra_paths(path) == []
    path.write_text("- a list\n")
    assert comfyui_extra_paths(path) == []


def test_models_find_lists_them(tmp_path):
    home = make_home(tmp_path / "home")
    env = {**cli_env(tmp_path / "studio"), "HOME": str(home), "USERPROFILE": str(home)}
    run = subprocess.run(
        [sys.executable, "-m", "studio", "models", "--find", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    tools = [row["tool"] for row in json.loads(run.stdout)]
    assert tools.count("ComfyUI") == 1 and "Stability Matrix" in tools
