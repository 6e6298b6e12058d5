"""The command line, as an artist or a script would use it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_process import ROOT, run_cli, start_cli, tiny_generate
from PIL import Image

from studio.cli import main


@pytest.mark.parametrize(
    "args, expected",
    [
        (["generate", "--bogus", "--out", "x"], "unrecognized arguments: --bogus"),
        (["generate", "--prompt", "cat", "--out", "x"], "No model given"),
        (["generate", "--model", "m", "--size", "512by512", "--out", "x"], "--size must look like 512x768"),
        (["generate", "--model", "m", "--steps", "many", "--out", "x"], "invalid int value: 'many'"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, expected, studio_home):
    run = run_cli(*args, env_home=studio_home)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert expected in lines[0]
    assert "Traceback" not in run.stderr


def test_bad_model_and_sampler_are_one_clear_line(tiny_models, tmp_path, studio_home):
    missing = run_cli(
        "generate",
        "--model",
        str(tmp_path / "nope.safetensors"),
        "--prompt",
        "x",
        "--out",
        str(tmp_path / "out"),
        env_home=studio_home,
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "nope.safetensors" in missing.stderr.strip().splitlines()[-1]

    sampler = run_cli(
        *tiny_generate(tiny_models / "sd15", "--sampler", "Eulr", "--out", str(tmp_path / "out")),
        env_home=studio_home,
    )
    assert sampler.returncode == 2 and "Traceback" not in sampler.stderr
    assert "Euler a" in sampler.stderr  # the message lists the valid names


def test_generate_writes_pngs_with_metadata_and_previews(tiny_models, tmp_path, capsys):
    out, previews = tmp_path / "out", tmp_path / "previews"
    flags = ["--style", "digital art", "--negative", "blurry", "--seed", "42", "--batch", "2"]
    code = main(
        tiny_generate(
            tiny_models / "sd15",
            *flags,
            "--out",
            str(out),
            "--preview-dir",
            str(previews),
            prompt="a knight in armor",
        )
    )
    assert code == 0
    written = [Path(line) for line in capsys.readouterr().out.split()]
    assert len(written) == 2 and all(p.parent == out and p.suffix == ".png" for p in written)
    assert Image.open(written[0]).size == (64, 64)
    assert len(list(previews.glob("*.png"))) == 2  # one preview per step

    from studio.metadata.reader import read_image_settings

    first, second = (read_image_settings(p) for p in written)
    assert first.source == "diffusion-studio"
    assert first.request.prompt == "a knight in armor" and first.request.style == "digital-art"
    assert (first.request.seed, second.request.seed) == (42, 43)
    assert "Steps: 2" in first.raw["parameters"] and "digital art" in first.raw["parameters"]


def test_from_png_restores_and_flags_override(tiny_models, tmp_path, capsys):
    out = tmp_path / "out"
    flags = ["--seed", "7", "--cfg", "5.5", "--out", str(out)]
    assert main(tiny_generate(tiny_models / "sd15", *flags, prompt="a red fox")) == 0
    source = Path(capsys.readouterr().out.split()[0])
    assert main(["generate", "--from-png", str(source), "--seed", "8", "--out", str(out)]) == 0
    again = Path(capsys.readouterr().out.split()[0])

    from studio.metadata.reader import read_image_settings

    restored = read_image_settings(again).request
    assert (restored.prompt, restored.cfg_scale, restored.seed) == ("a red fox", 5.5, 8)


def test_info_prints_settings_json(tiny_models, tmp_path, capsys):
    out = tmp_path / "out"
    main(tiny_generate(tiny_models / "sd15", "--seed", "3", "--out", str(out), prompt="tea 🍵"))
    image = capsys.readouterr().out.split()[0]
    assert main(["info", image]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "diffusion-studio"
    assert data["request"]["prompt"] == "tea 🍵" and data["request"]["seed"] == 3


def test_ctrl_c_cancels_cleanly_with_exit_130(tiny_models, tmp_path, studio_home):
    previews = tmp_path / "previews"
    proc = start_cli(
        *tiny_generate(tiny_models / "sd15", "--steps", "400", "--out", str(tmp_path / "out")),
        "--preview-dir",
        str(previews),
        env_home=studio_home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not any(previews.glob("*.png")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert len(list(previews.glob("*.png"))) < 400
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_demo_models_and_models_listing(tmp_path, capsys, monkeypatch, studio_home):
    assert main(["demo-models", str(tmp_path / "demo")]) == 0
    assert (tmp_path / "demo" / "sd15" / "model_index.json").is_file()
    assert (tmp_path / "demo" / "sdxl" / "model_index.json").is_file()
    assert (tmp_path / "demo" / "sd15.safetensors").is_file()
    capsys.readouterr()
    assert main(["models", "--dir", str(tmp_path / "demo"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    families = {Path(row["reference"]).name: row["family"] for row in rows}
    assert families.get("sd15") == "sd15" and families.get("sdxl") == "sdxl"
    assert families.get("sd15.safetensors") == "sd15"


def test_demo_models_without_a_folder_go_where_the_window_puts_them(capsys):
    from studio.paths import models_dir

    assert main(["demo-models"]) == 0
    assert (models_dir() / "demo" / "sd15" / "model_index.json").is_file()
    capsys.readouterr()
    assert main(["models", "--json"]) == 0
    listed = [Path(row["reference"]).resolve() for row in json.loads(capsys.readouterr().out)]
    # Found in the models folder and in the recorded demo folder, listed once.
    assert listed.count((models_dir() / "demo" / "sd15").resolve()) == 1


# --- LoRAs --------------------------------------------------------------------------------------------------


def test_lora_flags_apply_loras_and_write_their_hashes(tiny_models, tmp_path, capsys):
    from studio.engine.tiny_addons import write_tiny_lora
    from studio.metadata.reader import read_image_settings, settings_from_chunks

    root = tmp_path / "ComfyUI"
    write_tiny_lora(root / "models" / "loras" / "ink.safetensors", "sd15", "kohya")
    loose = write_tiny_lora(tmp_path / "loose" / "wash.safetensors", "sd15", "peft", seed=3)
    base = tiny_generate(tiny_models / "sd15", "--seed", "5")
    assert main([*base, "--out", str(tmp_path / "plain")]) == 0
    code = main(
        [
            *base,
            "--lora-dir",
            str(root),
            "--lora",
            "ink:0.6",
            "--lora",
            f"{loose}:-0.5",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    image = Path(capsys.readouterr().out.strip().splitlines()[-1])
    text = read_image_settings(image).raw["parameters"]
    assert 'Lora hashes: "ink: ' in text and ", wash: " in text
    plain = next((tmp_path / "plain").glob("*.png"))
    assert Image.open(plain).tobytes() != Image.open(image).tobytes()
    assert [(r.name, r.weight) for r in read_image_settings(image).request.loras] == [
        ("ink", 0.6),
        (str(loose), -0.5),
    ]
    # Read as A1111 text: found by hash in the folders given; the weights of LoRAs without a prompt tag are
    # not in A1111's text, so they come back at 1.
    a1111 = settings_from_chunks({"parameters": text}, [root, tmp_path / "loose"])
    assert [(r.name, r.weight) for r in a1111.request.loras] == [("ink", 1.0), ("wash", 1.0)]


def test_bad_lora_flags_are_one_clear_line(tiny_models, tmp_path, capsys):
    base = tiny_generate(tiny_models / "sd15")
    assert main([*base, "--lora", "ink:strong", "--out", str(tmp_path)]) == 2
    assert "--lora takes NAME[:WEIGHT]" in capsys.readouterr().err
    assert main([*base, "--lora", "nowhere:0.5", "--out", str(tmp_path)]) == 2
    assert "The LoRA 'nowhere' is not in the LoRA library" in capsys.readouterr().err


# --- ControlNet and inpainting flags ----------------------------------------------------------------------


def _control_files(tmp_path):
    from PIL import ImageDraw

    sketch, mask = tmp_path / "sketch.png", tmp_path / "mask.png"
    drawing = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(drawing).line((5, 5, 58, 58), fill="black", width=3)
    drawing.save(sketch)
    painted = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(painted).rectangle((16, 16, 40, 40), fill=255)
    painted.save(mask)
    return sketch, mask


def test_control_flags_pair_in_order_and_pose_files_are_poses(tmp_path):
    from studio.cli import build_parser, request_from_args

    pose = ROOT / "resources" / "poses" / "standing.json"
    args = build_parser().parse_args(
        [
            "generate",
            "--model",
            str(tmp_path),
            "--out",
            str(tmp_path),
            "--control",
            "canny:photo.png:0.6:0.1:0.8",
            "--control-model",
            "lllyasviel/control_v11p_sd15_canny",
            "--control",
            f"openpose:{pose}",
            "--control-model",
            str(tmp_path),
            "--canny-thresholds",
            "40:120",
            "--mask",
            "m.png",
            "--inpaint-area",
            "masked",
            "--mask-blur",
            "2",
        ]
    )
    request, _ = request_from_args(args)
    canny, openpose = request.controls
    assert (canny.type, canny.model, canny.scale, canny.start, canny.end, canny.source) == (
        "canny",
        "lllyasviel/control_v11p_sd15_canny",
        0.6,
        0.1,
        0.8,
        "image",
    )
    assert dict(canny.params) == {"low_threshold": 40, "high_threshold": 120}
    assert (openpose.source, openpose.image, openpose.model) == ("pose", str(pose), str(tmp_path))
    assert request.mask == str(Path("m.png").resolve())
    assert (request.inpaint_area, request.mask_blur) == ("masked", 2)


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--control", "canny:a.png"], "Each --control needs its own --control-model"),
        (["--control", "canny:a.png", "--control-model", "x", "--control-model", "y"], "(1 --control, 2"),
        (["--control", "canny", "--control-model", "x"], "--control must look like TYPE:IMAGE"),
    ],
)
def test_bad_control_flags_exit_2_with_one_line(tmp_path, studio_home, flags, expected):
    run = run_cli(
        "generate",
        "--model",
        str(tmp_path),
        "--prompt",
        "x",
        "--out",
        str(tmp_path),
        *flags,
        env_home=studio_home,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and expected in run.stderr


def test_generate_with_controlnet_and_mask_records_them(tiny_models, tiny_controlnets, tmp_path, capsys):
    sketch, mask = _control_files(tmp_path)
    out = tmp_path / "out"
    flags = ["--seed", "9", "--init", str(sketch), "--mask", str(mask), "--strength", "1.0"]
    control = [
        "--control",
        f"scribble:{sketch}:0.7",
        "--control-model",
        str(tiny_controlnets / "controlnet-sd15"),
    ]
    code = main(tiny_generate(tiny_models / "sd15", *flags, *control, "--out", str(out)))
    assert code == 0, capsys.readouterr().err
    written = Path(capsys.readouterr().out.split()[0])

    from studio.metadata.reader import read_image_settings

    settings = read_image_settings(written)
    (control,) = settings.request.controls
    assert (control.type, control.scale, control.image) == ("scribble", 0.7, str(sketch))
    assert settings.request.mask == str(mask)
    text = settings.raw["parameters"]
    assert (
        'ControlNet 0: "Module: invert, Model: controlnet-sd15, Weight: 0.7' in text
        and "Mask blur: 4" in text
    )


def test_generate_from_a_pose_file_with_a_tiny_openpose_controlnet(
    tiny_models, tiny_controlnets, tmp_path, capsys
):
    """The pose is rendered at the generation size, steers the image, and travels inside the PNG."""
    import numpy as np

    from studio.metadata.png_chunks import POSE_KEY
    from studio.metadata.reader import read_image_settings
    from studio.pose.pose_json import load_pose
    from studio.pose.presets import presets_dir

    pose_file = presets_dir() / "arms_raised.json"
    common = tiny_generate(tiny_models / "sd15", "--seed", "5", prompt="a dancer")
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    plain = Path(capsys.readouterr().out.split()[0])
    assert (
        main(
            [
                *common,
                "--control",
                f"openpose:{pose_file}",
                "--control-model",
                str(tiny_controlnets / "controlnet-sd15"),
                "--out",
                str(tmp_path / "posed"),
            ]
        )
        == 0
    )
    posed = Path(capsys.readouterr().out.split()[0])

    assert not np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(posed)))
    settings = read_image_settings(posed)
    (control,) = settings.request.controls
    assert (control.type, control.source) == ("openpose", "pose")
    assert load_pose(settings.raw[POSE_KEY]) == load_pose(str(pose_file))


# --- pose render ----------------------------------------------------------------------------------------------


def test_pose_render_writes_the_control_image_the_engine_would_use(tmp_path, capsys):
    import numpy as np

    from studio.pose.presets import load_pose_preset, presets_dir
    from studio.pose.render import render_pose

    out = tmp_path / "waving.png"
    assert main(["pose", "render", str(presets_dir() / "waving.json"), str(out), "--size", "768x512"]) == 0
    assert "768x512, 1 person" in capsys.readouterr().out
    written = Image.open(out)
    assert written.size == (768, 512)
    expected = render_pose(load_pose_preset("waving"), 768, 512)
    assert np.array_equal(np.asarray(written.convert("RGB")), np.asarray(expected))
    default = tmp_path / "default.png"
    assert main(["pose", "render", str(presets_dir() / "waving.json"), str(default)]) == 0
    assert Image.open(default).size == load_pose_preset("waving").size


@pytest.mark.parametrize(
    "text, args, expected",
    [
        ('{"people": [', [], "is not JSON"),
        ('{"people": [], "canvas_width": 512}', [], "'canvas_height' is missing"),
        (
            '{"people": [], "canvas_width": 512, "canvas_height": 512}',
            ["--size", "big"],
            "--size must look like",
        ),
    ],
)
def test_pose_render_bad_input_exits_2_with_one_line(tmp_path, studio_home, text, args, expected):
    pose = tmp_path / "pose.json"
    pose.write_text(text, encoding="utf-8")
    run = run_cli("pose", "render", str(pose), str(tmp_path / "out.png"), *args, env_home=studio_home)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_the_cli_sees_the_models_folder_chosen_in_the_window(tiny_models, tmp_path, capsys):
    """The preferences are shared: a model in the A1111 folder the artist chose is listed and found by name."""
    import shutil

    from studio.settings import AppSettings, save_settings

    webui = tmp_path / "webui"
    shutil.copytree(tiny_models / "sd15", webui / "models" / "Stable-diffusion" / "my-tiny-model")
    save_settings(AppSettings(models_folder=str(webui)))

    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(row["name"] == "my-tiny-model" and row["family"] == "sd15" for row in rows)

    assert main(tiny_generate("my-tiny-model", "--out", str(tmp_path / "out"))) == 0
    assert Path(capsys.readouterr().out.split()[0]).is_file()
