"""A control input switched off (``enabled=False``) is kept in the request but plays no part anywhere else."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image

from studio.engine.config import EngineConfig
from studio.engine.guidance import resolve_controls
from studio.engine.validation import validate
from studio.errors import ModelError, RequestError
from studio.metadata.control_infotext import control_params
from studio.metadata.saving import embedded_pose_json
from studio.pose.pose import default_pose
from studio.pose.pose_json import save_pose
from studio.request import ControlInput, GenerationRequest

# Switched off and unusable: no model, no image. Switched on, either would stop the run.
BROKEN = ControlInput(type="depth", image="", model="", enabled=False)


def test_enabled_round_trips_and_older_json_without_it_means_on():
    request = GenerationRequest(controls=(BROKEN, ControlInput(type="canny", image="a.png")))
    again = GenerationRequest.from_json(request.to_json())
    assert again == request and [c.enabled for c in again.controls] == [False, True]
    data = request.to_dict()
    del data["controls"][1]["enabled"]  # written before the field existed
    assert GenerationRequest.from_dict(data).controls[1].enabled is True
    assert again.active_controls == (again.controls[1],)


def test_validation_and_controlnet_lookup_skip_switched_off_controls():
    request = GenerationRequest(width=64, height=64, controls=(BROKEN,))
    validate(request, "sd15")  # no "has no image" error
    assert resolve_controls(request, "sd15") == []  # no ControlNet looked up, so none loaded
    on = request.with_changes(controls=(replace(BROKEN, enabled=True),))
    with pytest.raises(RequestError, match="has no image"):
        validate(on, "sd15")
    with pytest.raises((RequestError, ModelError)):
        resolve_controls(on, "sd15")


def test_metadata_records_only_switched_on_controls(tmp_path):
    pose_file = tmp_path / "pose.json"
    save_pose(default_pose(), pose_file)
    pose = ControlInput(type="openpose", image=str(pose_file), source="pose", model="m", enabled=False)
    canny = ControlInput(type="canny", image="a.png", model="control_canny", scale=0.5)
    request = GenerationRequest(controls=(pose, canny))
    params = control_params(request)
    assert [k for k in params if k.startswith("ControlNet")] == ["ControlNet 0"]
    assert "canny" in str(params["ControlNet 0"])
    assert embedded_pose_json(request) is None
    assert embedded_pose_json(request.with_changes(controls=(replace(pose, enabled=True),)))


@pytest.mark.slow
def test_the_engine_runs_without_and_reports_no_switched_off_control(tiny_models, tmp_path):
    from studio.engine.engine import Engine

    sketch = tmp_path / "sketch.png"
    Image.new("RGB", (64, 64), "white").save(sketch)
    off = ControlInput(type="scribble", image=str(sketch), model="nobody/no-such-controlnet", enabled=False)
    request = GenerationRequest(
        model=str(tiny_models / "sd15"), prompt="a fox", width=64, height=64, steps=2, seed=3, controls=(off,)
    )
    result = Engine(EngineConfig(device="cpu")).generate(request)
    assert len(result.images) == 1 and result.request.controls == ()
