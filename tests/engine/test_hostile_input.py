"""Hostile and broken input through the real entry points: it fails fast with one clear line, or is reported;
it never hangs, never floods the console and never saves a black picture as if it were one."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from studio.engine import Engine
from studio.engine import engine as engine_module
from studio.engine.config import EngineConfig
from studio.engine.devices import BROKEN_LATENTS
from studio.engine.memory_tiers import TIER_STAGE_PREFIX
from studio.engine.tiny_addons import write_tiny_lora
from studio.engine.validation import MAX_PROMPT_CHUNKS
from studio.errors import RequestError
from studio.metadata.png_chunks import encode_png
from studio.request import GenerationRequest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="peak memory is read with the resource module"),
]

ROOT = Path(__file__).resolve().parents[2]
STAGES = {"Loading model…", "Loading LoRAs…", "Generating…", "Decoding…"}  # the CLI's progress lines


class Run:
    def __init__(self, returncode: int, stdout: str, stderr: str, seconds: float, peak_mb: float) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.seconds, self.peak_mb = seconds, peak_mb

    def error_lines(self) -> list[str]:
        """stderr without the progress lines the CLI prints while it works."""
        return [
            line
            for line in self.stderr.strip().splitlines()
            if line not in STAGES and not line.startswith(TIER_STAGE_PREFIX)  # the tier is a stage line too
        ]


# Runs the CLI and writes its peak memory. A child's peak counts the process it was forked from, so the CLI is
# started from this small process, not from pytest with torch loaded. ``call`` kills it if it hangs.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[3:], timeout=float(sys.argv[2]))\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run_cli(*args: str, home: Path, timeout: float = 120) -> Run:
    """``python -m studio ARGS`` as an artist runs it, with its wall time and peak memory."""
    env = {**os.environ, "DIFFUSION_STUDIO_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as folder:
        peak = Path(folder) / "peak"
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(peak), str(timeout), sys.executable, "-m", "studio", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 30,
        )
        seconds = time.monotonic() - started
        assert peak.exists(), f"the CLI did not finish in {timeout} s: {run.stderr[-2000:]}"
        peak_mb = int(peak.read_text()) / 1024  # kilobytes on Linux
    return Run(run.returncode, run.stdout, run.stderr, seconds, peak_mb)


def _assert_one_clear_line(run: Run, expected: str) -> None:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "Warning" not in run.stderr, run.stderr
    lines = run.error_lines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("diffusion-studio: error: ") and expected in lines[0], lines[0]


def _nothing_saved(out: Path) -> bool:
    return not out.exists() or not any(out.iterdir())


def _png_with_parameters(path: Path, prompt: str, model: Path) -> Path:
    settings = f"Steps: 2, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, Model: {model}"
    infotext = f"{prompt}\nNegative prompt: blurry\n{settings}"
    path.write_bytes(encode_png(Image.new("RGB", (64, 64)), infotext))
    return path


# --- through the command line ---------------------------------------------------------------------------


def test_a_50_mb_parameters_text_fails_in_seconds_with_bounded_memory(tiny_models, tmp_path, studio_home):
    """It used to run for over ten minutes in the tokenizer, past 7 GB, deaf to Ctrl+C."""
    huge = _png_with_parameters(tmp_path / "huge.png", "a red fox, " * 4_600_000, tiny_models / "sd15")
    assert huge.stat().st_size > 50_000_000
    out = tmp_path / "out"
    run = run_cli("generate", "--from-png", str(huge), "--out", str(out), home=studio_home, timeout=60)
    _assert_one_clear_line(run, "'parameters' text (50.6 MB) is larger than the 8.0 MB")
    assert "huge.png" in run.stderr
    assert run.seconds < 30 and run.peak_mb < 500, (run.seconds, run.peak_mb)
    assert _nothing_saved(out)


def test_a_prompt_too_long_to_encode_is_refused_before_the_model_loads(tiny_models, tmp_path, studio_home):
    """Small enough to be read from the PNG, far too long to tokenize: refused before any weights load."""
    long = _png_with_parameters(tmp_path / "long.png", "a red fox, " * 100_000, tiny_models / "sd15")
    out = tmp_path / "out"
    run = run_cli("generate", "--from-png", str(long), "--out", str(out), home=studio_home, timeout=60)
    _assert_one_clear_line(run, "characters long; the studio reads at most 20,000")
    assert "The prompt is 1,09" in run.stderr or "The prompt is 1,100,000" in run.stderr
    assert "Loading model…" not in run.stderr
    assert run.seconds < 30 and run.peak_mb < 500, (run.seconds, run.peak_mb)
    assert _nothing_saved(out)


@pytest.mark.parametrize("cfg", ["inf", "nan", "-inf", "1e400"])
def test_a_cfg_that_is_not_a_finite_number_is_one_line_and_nothing_is_saved(
    tiny_models, tmp_path, studio_home, cfg
):
    """``--cfg inf`` used to exit 0 and save an all-black PNG after numpy warnings."""
    out = tmp_path / "out"
    run = run_cli(
        "generate", "--model", str(tiny_models / "sd15"), "--prompt", "a fox", "--size", "64x64", "--steps", "2",
        f"--cfg={cfg}", "--out", str(out), home=studio_home,
    )  # fmt: skip
    shown = "inf" if cfg == "1e400" else cfg
    _assert_one_clear_line(run, f"The CFG scale must be a number from 0 to 100, not {shown}.")
    assert "Loading model…" not in run.stderr  # refused before any weights are read
    assert _nothing_saved(out)


@pytest.fixture(scope="module")
def wrong_shape_lora(tmp_path_factory) -> Path:
    """A LoRA with the tiny SD 1.x model's layer names but twice the input widths: made for another model."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    folder = tmp_path_factory.mktemp("wrong-lora")
    made = write_tiny_lora(folder / "made.safetensors", "sd15")
    with safe_open(str(made), "pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(made))
    for key, tensor in tensors.items():
        if key.endswith("lora_down.weight"):
            tensors[key] = tensor.repeat(1, 2)
    path = folder / "other-model.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    made.unlink()
    return path


def test_a_lora_for_another_model_is_one_line_naming_the_file(
    tiny_models, wrong_shape_lora, tmp_path, studio_home
):
    """diffusers logs one "size mismatch" line per tensor before raising; the artist gets one sentence."""
    out = tmp_path / "out"
    run = run_cli(
        "generate", "--model", str(tiny_models / "sd15"), "--prompt", "a fox", "--size", "64x64", "--steps", "2",
        "--lora", str(wrong_shape_lora), "--out", str(out), home=studio_home,
    )  # fmt: skip
    _assert_one_clear_line(run, "The LoRA file 'other-model.safetensors' was made for a different model")
    assert "size mismatch" not in run.stderr
    assert _nothing_saved(out)


# --- through the engine ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(EngineConfig(torch_threads=2))


def _request(tiny_models, **changes) -> GenerationRequest:
    base = GenerationRequest(
        model=str(tiny_models / "sd15"), prompt="a red fox", seed=1, steps=2, sampler="Euler", width=64, height=64,
    )  # fmt: skip
    return base.with_changes(**changes)


def test_nan_latents_are_an_error_never_a_black_picture(engine, tiny_models):
    """Whatever makes the UNet overflow (broken weights, fp16, a huge weight), NaN is reported, not saved."""
    import torch

    engine.generate(_request(tiny_models))  # load the model, so the hook goes on the UNet the run uses
    unet = engine._loaded.pipe.unet
    handle = unet.register_forward_hook(
        lambda module, args, output: (torch.full_like(output[0], float("nan")),)
    )
    batches = []
    try:
        with pytest.raises(RequestError) as raised:
            engine.generate(_request(tiny_models, batch_count=2), on_batch=batches.append)
    finally:
        handle.remove()
    assert str(raised.value) == BROKEN_LATENTS and "black image" in BROKEN_LATENTS
    assert batches == []  # nothing handed over to be saved
    assert not engine.generate(_request(tiny_models)).cancelled  # and the engine is fine afterwards


def test_a_prompt_of_too_many_chunks_is_refused_before_the_first_step(engine, tiny_models):
    unet_calls = []
    engine.generate(_request(tiny_models))
    handle = engine._loaded.pipe.unet.register_forward_pre_hook(lambda *_: unet_calls.append(1))
    try:
        with pytest.raises(
            RequestError, match=f"The negative prompt is .* chunks .* at most {MAX_PROMPT_CHUNKS}"
        ):
            engine.generate(_request(tiny_models, negative_prompt="a " * 3_000))
    finally:
        handle.remove()
    assert unet_calls == []


def test_cancel_during_the_model_load_stops_it_at_the_next_stage(tiny_models, monkeypatch):
    """The CLI's first Ctrl+C sets ``cancel``; a load must not run to its end before that is heard."""
    from studio.engine import loading

    stages = []
    real = loading.load_model

    def spying_load(*args, on_progress, **kwargs):
        def on_stage_of_load(text):
            stages.append(text)
            cancel.set()  # Ctrl+C arrives while the model is being read
            on_progress(text)

        return real(*args, on_progress=on_stage_of_load, **kwargs)

    monkeypatch.setattr(engine_module.loading, "load_model", spying_load)
    cancel = threading.Event()
    fresh = Engine(EngineConfig(torch_threads=2))
    started = time.monotonic()
    result = fresh.generate(_request(tiny_models), cancel=cancel)
    assert result.cancelled and result.images == [] and result.seeds == []
    assert len(stages) == 1 and fresh._loaded is None  # stopped at the first stage; nothing half-loaded kept
    assert time.monotonic() - started < 10


def test_cancel_during_text_encoding_returns_before_any_step(engine, tiny_models, monkeypatch):
    cancel = threading.Event()
    real = engine_module.prompt_embeds

    def encoding_then_cancel(*args, **kwargs):
        encoded = real(*args, **kwargs)
        cancel.set()
        return encoded

    engine.generate(_request(tiny_models))
    monkeypatch.setattr(engine_module, "prompt_embeds", encoding_then_cancel)
    steps, batches = [], []
    result = engine.generate(
        _request(tiny_models), on_step=steps.append, cancel=cancel, on_batch=batches.append
    )
    assert result.cancelled and result.images == [] and steps == [] and batches == []
    assert result.model == engine._loaded.info
