"""With servers in use, the control rows list the servers' ControlNets (one of the model's family and the row's
type first, no Download for a server's file) and the sampler list marks the samplers a server lacks."""

from __future__ import annotations

import pytest
from fake_engine import FakeEngine, fake_backend
from fake_servers import FakeServer
from PySide6.QtCore import Qt

from studio.backend.catalogue import Capabilities
from studio.backend.multi_backend import MultiBackend
from studio.models.controlnets import controlnet_choices, family_of_name
from studio.models.samplers import SAMPLER_NAMES

SERVED = ("control_v11p_sd15_canny", "controlnet-depth-sdxl-1.0", "control_v11f1p_sd15_depth")


def test_a_servers_controlnets_are_ranked_by_family_and_type_and_never_downloaded():
    assert family_of_name("controlnet-depth-sdxl-1.0.safetensors") == "sdxl"
    assert family_of_name("control_v11p_sd15_canny.safetensors") == "sd15"
    assert family_of_name("my_controlnet") is None
    served = [f"{name}.safetensors" for name in SERVED]
    xl = controlnet_choices("depth", "sdxl", served=served)
    assert xl[0].reference == "controlnet-depth-sdxl-1.0.safetensors"
    assert (
        controlnet_choices("depth", "sd15", served=served)[0].reference
        == "control_v11f1p_sd15_depth.safetensors"
    )
    assert all(c.on_server and c.installed and "on the server" in c.tooltip for c in xl)
    assert not any("/" in c.reference for c in xl)  # no hub id to download: only what the server has


@pytest.fixture
def pool_studio(qtbot, qapp):
    from studio.app import build_studio

    server = FakeServer("desk", controlnets=SERVED)
    # A ComfyUI without the sampler DDIM maps to: the studio can still run DDIM here, not there.
    server.capabilities = lambda: Capabilities(
        ("sd15",), ("canny",), tuple(s for s in SAMPLER_NAMES if s != "DDIM")
    )
    pool = MultiBackend([server], fake_backend(FakeEngine()), allow_local=False)
    studio = build_studio(qapp, backend=pool, discover=lambda dirs: [])
    qtbot.addWidget(studio.window)
    yield studio, pool
    studio.state.shutdown(2.0)


def test_the_control_rows_list_the_servers_controlnets_and_the_sampler_list_marks_what_a_server_lacks(
    qtbot, pool_studio
):
    studio, pool = pool_studio
    panel = studio.window.canvases.control_panel
    row = panel.add_control("depth", "image")
    assert row.download.isVisibleTo(row)  # before the servers answered: this computer's recommended download
    studio.state.refresh_models()
    qtbot.waitUntil(lambda: panel.served is not None, timeout=5000)
    listed = [row.model.itemData(i) for i in range(row.model.count())]
    assert sorted(listed) == sorted(f"{name}.safetensors" for name in SERVED)
    assert row.model_reference() in {
        "control_v11f1p_sd15_depth.safetensors",
        "controlnet-depth-sdxl-1.0.safetensors",
    }
    assert not row.download.isVisibleTo(row)  # a server's file: nothing to download
    row.set_model("lllyasviel/control_v11f1p_sd15_depth")  # a hub id from an image's metadata: kept, shown...
    row.refresh()
    assert not row.download.isVisibleTo(row)  # ...but a download here would not reach the server
    row.set_model("control_v11f1p_sd15_depth.safetensors")
    assert "on the server" in row.model.itemData(0, Qt.ItemDataRole.ToolTipRole)
    row.set_model_family("sdxl")
    assert row.model_reference() == "controlnet-depth-sdxl-1.0.safetensors"  # the model's family first
    assert panel.add_control("canny", "image").model_reference() == "control_v11p_sd15_canny.safetensors"

    sampler = studio.window.settings_panel.sampler
    ddim = sampler.findText("DDIM")
    assert "Not on desk" in sampler.itemData(ddim, Qt.ItemDataRole.ToolTipRole)
    assert sampler.itemData(sampler.findText("Euler a"), Qt.ItemDataRole.ToolTipRole) is None

    pool.set_servers([], allow_local=True)  # no server in use any more: this computer's ControlNets again
    studio.state.refresh_models()
    qtbot.waitUntil(lambda: panel.served is None, timeout=5000)
    assert sampler.itemData(ddim, Qt.ItemDataRole.ToolTipRole) is None
    assert not any(
        row.model.itemData(i) == "control_v11p_sd15_canny.safetensors" for i in range(row.model.count())
    )
