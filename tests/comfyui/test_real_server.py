"""The ComfyUI backend against the real ComfyUI 0.8.0 on 127.0.0.1 (tiny models, 64 px, a few steps): every kind
of generation the issue names produces an image with previews and the studio's metadata; cancel; real errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from comfyui_server import CHECKPOINT, CONTROLNET, LORA
from PIL import Image, ImageDraw

from studio.backend.comfyui.backend import ComfyBackend
from studio.backend.comfyui.connection import check_connection
from studio.backend.comfyui.errors import ServerError
from studio.backend.comfyui.http_client import ComfyClient
from studio.backend.events import JOB_ENDS, ImagesReady, JobCancelled, JobFinished, StepProgress
from studio.paths import resources_dir
from studio.request import ControlInput, GenerationRequest, HiresSettings, LoraRef

pytestmark = pytest.mark.slow

BASE = GenerationRequest(
    model="tiny-sd15", prompt="a red fox", negative_prompt="blurry", steps=3, width=64, height=64, seed=11,
    sampler="Euler",
)  # fmt: skip


@pytest.fixture
def backend(comfy):
    backend = ComfyBackend(comfy, timeout=30)
    backend.start()
    yield backend
    backend.close()


def generate(backend: ComfyBackend, request: GenerationRequest, on_event=None, timeout: float = 120):
    """Run ``request``; (its events, the ending event). Prints the job's time for the closing figures."""
    started = time.perf_counter()
    job = backend.submit(request)
    events = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = backend.next_event(1.0)
        if event is None:
            continue
        events.append(event)
        if on_event is not None:
            on_event(event)
        if isinstance(event, JOB_ENDS) and event.job_id == job:
            print(
                f"\n{request.prompt[:30]!r}: {type(event).__name__} in {time.perf_counter() - started:.2f} s"
            )
            return events, event
    raise AssertionError(f"the job did not end in {timeout} s: {events}")


def finished(backend, request, **kwargs):
    events, end = generate(backend, request, **kwargs)
    assert isinstance(end, JobFinished), end
    previews = [e.preview for e in events if isinstance(e, StepProgress)]
    return end.result, previews, events


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def saved_metadata(result, folder: Path):
    from studio.metadata.reader import read_image_settings
    from studio.metadata.saving import save_result

    paths = save_result(result, folder)
    with Image.open(paths[0]) as png:
        parameters = png.info["parameters"]
    return read_image_settings(paths[0]), parameters


def test_the_connection_check_and_the_lists_come_from_the_server(comfy, backend):
    status = check_connection(comfy)
    assert status.usable, status.summary()
    assert status.comfyui_version == "0.8.0" and status.device == "cpu" and status.free_vram_bytes
    assert [(m.name, m.reference, m.family) for m in backend.models()] == [("tiny-sd15", CHECKPOINT, "sd15")]
    assert [(lora.name, lora.family) for lora in backend.loras()] == [("tiny-ink", "sd15")]
    assert [str(path) for path in backend.controlnets()] == [CONTROLNET]
    assert {"Euler", "Euler a", "DPM++ 2M Karras", "DDIM"} <= set(backend.capabilities().samplers)


def test_the_window_lists_the_pools_controlnets_and_the_samplers_a_server_lacks(backend):
    from studio.backend.comfyui.samplers import A1111_TO_COMFY
    from studio.backend.multi_backend import MultiBackend
    from studio.models.controlnets import controlnet_choices
    from studio.models.samplers import SAMPLER_NAMES
    from studio.state.servers import pool_offer

    offer = pool_offer(MultiBackend([backend], allow_local=False))
    assert offer is not None and offer.controlnets == (CONTROLNET,)
    # ComfyUI 0.8.0 has every sampler the studio maps; the studio's others (PLMS, TCD...) are marked as lacking.
    unmapped = [name for name in SAMPLER_NAMES if name not in A1111_TO_COMFY]
    assert unmapped and offer.lacking == {name: ("test-server",) for name in unmapped}
    (choice,) = controlnet_choices("scribble", "sd15", served=offer.controlnets)
    assert choice.reference == CONTROLNET and choice.on_server


def test_txt2img_previews_every_step_and_saves_the_studios_metadata(backend, tmp_path):
    result, previews, _ = finished(backend, BASE)
    assert [(p.step, p.total, p.pass_name) for p in previews] == [
        (1, 3, "base"),
        (2, 3, "base"),
        (3, 3, "base"),
    ]
    assert previews[0].image.shape == (8, 8, 3) and previews[0].image.dtype == np.uint8
    assert [image.size for image in result.images] == [(64, 64)] and result.seeds == [11]
    settings, parameters = saved_metadata(result, tmp_path)
    assert settings.source == "diffusion-studio"
    assert settings.request == BASE.with_changes(
        model="tiny-sd15"
    )  # the request JSON, as local images carry it
    assert (
        "Steps: 3, Sampler: Euler" in parameters
        and "Seed: 11" in parameters
        and "Model: tiny-sd15" in parameters
    )
    assert f'Server: "ComfyUI test-server (127.0.0.1:{backend.server.url.rsplit(":", 1)[1]})"' in parameters


def test_a_batch_image_is_reproduced_alone_from_its_own_seed(backend):
    batch, _, events = finished(backend, BASE.with_changes(prompt="two foxes", batch_size=2, steps=2))
    assert batch.seeds == [11, 12] and sum(isinstance(e, ImagesReady) for e in events) == 1
    alone, _, _ = finished(backend, BASE.with_changes(prompt="two foxes", seed=12, steps=2))
    assert np.array_equal(pixels(alone.images[0]), pixels(batch.images[1]))
    assert not np.array_equal(pixels(batch.images[0]), pixels(batch.images[1]))


def _gradient(path: Path) -> Path:
    x = np.linspace(0, 255, 64, dtype=np.uint8)
    rgb = np.stack([np.tile(x, (64, 1)), np.tile(x[:, None], (1, 64)), np.full((64, 64), 90, np.uint8)], -1)
    Image.fromarray(rgb).save(path)
    return path


def test_img2img_runs_strength_times_steps(backend, tmp_path):
    init = _gradient(tmp_path / "init.png")
    result, previews, _ = finished(
        backend, BASE.with_changes(prompt="fox from a photo", init_image=str(init), strength=0.5, steps=4)
    )
    assert [p.step for p in previews] == [1, 2] and previews[-1].total == 2
    assert result.images[0].size == (64, 64) and result.request.strength == 0.5
    assert not np.array_equal(pixels(result.images[0]), pixels(Image.open(init)))


def test_inpainting_repaints_the_mask_and_keeps_the_rest_exactly(backend, tmp_path):
    init = _gradient(tmp_path / "init.png")
    mask = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(mask).rectangle((0, 0, 31, 63), fill=255)  # repaint the left half
    mask.save(tmp_path / "mask.png")
    request = BASE.with_changes(
        prompt="a fox inpainted",
        init_image=str(init),
        mask=str(tmp_path / "mask.png"),
        mask_blur=0,
        strength=1.0,
    )
    result, previews, _ = finished(backend, request)
    assert len(previews) == 3
    out, original = pixels(result.images[0]), pixels(Image.open(init))
    assert np.array_equal(out[:, 32:], original[:, 32:])  # untouched outside the mask
    assert not np.array_equal(out[:, :32], original[:, :32])


def test_a_lora_changes_the_image_and_is_recorded(backend, tmp_path):
    plain, _, _ = finished(backend, BASE)  # ComfyUI answers a graph it ran before from its cache
    listed, previews, _ = finished(backend, BASE.with_changes(loras=(LoraRef("tiny-ink", 0.9),)))
    tagged, _, _ = finished(backend, BASE.with_changes(prompt="a red fox <lora:tiny-ink:0.9>"))
    assert len(previews) == 3
    assert not np.array_equal(pixels(plain.images[0]), pixels(listed.images[0]))
    assert np.array_equal(pixels(listed.images[0]), pixels(tagged.images[0]))  # a tag is the same LoRA
    assert [(ref.name, ref.weight) for ref in listed.loras] == [("tiny-ink", 0.9)]
    settings, _ = saved_metadata(listed, tmp_path)
    assert settings.request.loras == (LoraRef("tiny-ink", 0.9),)
    assert LORA in str(backend.files().loras)


def _uploaded(server, kind: str) -> list[Path]:
    return sorted((server.base / "input").glob(f"diffusion-studio-control-{kind}-*.png"))


def test_scribble_from_the_sketch_canvas_steers_the_image(backend, comfy_server, tmp_path):
    from studio.engine.control_images import preprocess_control

    sketch = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(sketch).ellipse((12, 12, 52, 52), outline="black", width=4)
    sketch.save(tmp_path / "canvas.png")
    control = ControlInput(
        "scribble", str(tmp_path / "canvas.png"), model="tiny-control-sd15", source="canvas", scale=1.0
    )
    plain, _, _ = finished(backend, BASE)
    steered, previews, _ = finished(backend, BASE.with_changes(controls=(control,)))
    assert len(previews) == 3 and steered.images[0].size == (64, 64)
    assert not np.array_equal(pixels(plain.images[0]), pixels(steered.images[0]))
    # The server got the control image the studio renders (inverted: white strokes on black), as local runs do.
    expected, _ = preprocess_control(control, 64, 64)
    uploaded = _uploaded(comfy_server, "scribble")
    assert any(np.array_equal(pixels(Image.open(path)), pixels(expected)) for path in uploaded)
    settings, parameters = saved_metadata(steered, tmp_path)
    assert "ControlNet" in parameters and settings.request.controls[0].type == "scribble"


def test_openpose_from_the_pose_editor_steers_the_image(backend, comfy_server):
    from studio.pose.pose_json import load_pose
    from studio.pose.render import render_pose

    pose_file = resources_dir() / "poses" / "standing.json"
    control = ControlInput(
        "openpose", str(pose_file), model=CONTROLNET, source="pose", scale=1.2, start=0.0, end=0.8
    )
    plain, _, _ = finished(backend, BASE)
    posed, previews, _ = finished(backend, BASE.with_changes(controls=(control,)))
    assert len(previews) == 3
    assert not np.array_equal(pixels(plain.images[0]), pixels(posed.images[0]))
    rendered = render_pose(load_pose(pose_file), 64, 64)
    assert any(
        np.array_equal(pixels(Image.open(p)), pixels(rendered)) for p in _uploaded(comfy_server, "openpose")
    )


def test_hires_fix_is_a_second_pass_with_its_own_previews(backend):
    request = BASE.with_changes(
        prompt="a big fox", steps=2, hires=HiresSettings(scale=1.5, strength=0.5, steps=4)
    )
    result, previews, _ = finished(backend, request)
    assert [(p.step, p.pass_name) for p in previews] == [
        (1, "base"),
        (2, "base"),
        (3, "refine"),
        (4, "refine"),
    ]
    assert result.images[0].size == (96, 96)


def test_cancel_stops_the_run_within_a_step_and_the_server_goes_on(backend):
    stopped_at = []

    def cancel_at_first_step(event):
        if isinstance(event, StepProgress) and not stopped_at:
            stopped_at.append(time.perf_counter())
            backend.cancel()

    events, end = generate(
        backend, BASE.with_changes(prompt="a long fox", steps=400), on_event=cancel_at_first_step
    )
    took = time.perf_counter() - stopped_at[0]
    print(f"cancel took {took:.2f} s")
    assert isinstance(end, JobCancelled) and end.result is None
    assert took < 5 and sum(isinstance(e, StepProgress) for e in events) < 400
    after, _, _ = finished(backend, BASE.with_changes(prompt="after the cancel", steps=2))
    assert after.images


def test_a_graph_comfyui_refuses_gives_its_reason(comfy):
    bad = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "missing.safetensors"}},
           "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}  # fmt: skip
    with pytest.raises(ServerError, match=r"refused the job \(HTTP 400\): Prompt outputs failed validation"):
        ComfyClient(comfy).post_json("/prompt", {"prompt": bad})
