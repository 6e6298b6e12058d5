from __future__ import annotations

import threading

from fake_loras import write_fake_lora

from studio import paths
from studio.prompt.a1111_syntax import parse_prompt
from studio.request import GenerationRequest, LoraRef
from studio.state import lora_sync
from studio.state.lora_list import LoraList, lora_tag_diagnostics, unusable_reason


def scanned(qtbot, roots=(), scan=None) -> LoraList:
    loras = LoraList(scan) if scan else LoraList()
    with qtbot.waitSignal(loras.changed, timeout=5000):
        loras.refresh(roots)
    return loras


def test_the_scan_runs_off_the_gui_thread_and_finds_own_and_a1111_folders(qtbot, tmp_path):
    from studio.state.lora_list import default_scan

    write_fake_lora(paths.models_dir() / "loras" / "ink wash.safetensors", "sd15", ["inkwash"])
    write_fake_lora(
        tmp_path / "webui" / "models" / "Lora" / "Pixel.safetensors", "sdxl", title="Pixel Art XL"
    )
    threads = []

    def scan(roots):
        threads.append(threading.current_thread().name)
        return default_scan(roots)

    loras = scanned(qtbot, [tmp_path / "webui"], scan)
    assert threads == ["studio-lora-scan"]
    assert [(e.name, e.family) for e in loras.entries()] == [("ink wash", "sd15"), ("Pixel", "sdxl")]
    assert loras.get("INK WASH").triggers == ("inkwash",)
    assert loras.get("pixel art xl").name == "Pixel"  # a tag may use the title, as the engine allows
    assert [e.name for e in loras.search("inkw")] == ["ink wash"]
    assert "pixel art xl" in loras.names()


def test_a_failing_scan_is_reported_and_keeps_the_old_list(qtbot):
    def scan(roots):
        raise PermissionError("no access to /mnt/loras")

    loras = LoraList(scan)
    with qtbot.waitSignal(loras.failed, timeout=5000) as blocker:
        loras.refresh()
    assert "no access" in blocker.args[0] and not loras.loaded


def test_wrong_family_and_broken_files_have_a_reason(tmp_path):
    from studio.models.lora_library import inspect_lora

    xl = inspect_lora(write_fake_lora(tmp_path / "xl.safetensors", "sdxl"))
    assert unusable_reason(xl, "sdxl") is None and unusable_reason(xl, None) is None
    assert "Stable Diffusion XL" in unusable_reason(xl, "sd15-inpaint")
    (tmp_path / "broken.safetensors").write_bytes(b"\x01")
    assert "too short" in unusable_reason(inspect_lora(tmp_path / "broken.safetensors"), "sd15")


def test_tag_diagnostics_name_unknown_and_wrong_family_loras_at_the_name(qtbot):
    folder = paths.models_dir() / "loras"
    write_fake_lora(folder / "inkwash.safetensors", "sd15")
    write_fake_lora(folder / "pixelxl.safetensors", "sdxl")
    loras = LoraList()
    prompt = "cat <lora:inkwsh:0.5> <lora:pixelxl:1> <lora:inkwash:0.7>"
    assert lora_tag_diagnostics(parse_prompt(prompt).loras, loras, "sd15") == []  # not scanned yet: no guess
    loras = scanned(qtbot)
    found = lora_tag_diagnostics(parse_prompt(prompt).loras, loras, "sd15")
    assert [(d.position, d.severity) for d in found] == [
        (prompt.index("inkwsh"), "error"),
        (prompt.index("pixelxl"), "error"),
    ]
    assert "Did you mean 'inkwash'?" in found[0].message
    assert "Stable Diffusion XL" in found[1].message


def test_tags_are_the_truth_and_panel_edits_rewrite_them():
    request = GenerationRequest(prompt="a cat <lora:Ink:0.5>, sunset")
    assert lora_sync.active_loras(request) == [lora_sync.ActiveLora("Ink", 0.5, True)]
    heavier = lora_sync.set_weight(request, "ink", 1.25)
    assert heavier.prompt == "a cat <lora:Ink:1.25>, sunset" and heavier.loras == ()
    off = lora_sync.set_enabled(heavier, "ink", False)
    assert off.prompt == "a cat, sunset" and off.loras == (LoraRef("Ink", 1.25, False),)
    assert lora_sync.active_loras(off) == [lora_sync.ActiveLora("Ink", 1.25, False)]
    quieter = lora_sync.set_weight(off, "Ink", 0.3)  # a switched-off LoRA keeps its weight in the list
    assert quieter.prompt == off.prompt and quieter.loras == (LoraRef("Ink", 0.3, False),)
    on = lora_sync.set_enabled(quieter, "Ink", True)
    assert on.prompt == "a cat, sunset <lora:Ink:0.3>" and on.loras == ()
    assert lora_sync.remove(on, "ink").prompt == "a cat, sunset"
    assert lora_sync.add_lora(on, "Ink") is on  # already in use: nothing changes


def test_loras_listed_by_an_image_become_tags_and_a_tag_wins():
    request = GenerationRequest(
        prompt="<lora:a:0.9> dog",
        loras=(LoraRef("a", 0.4), LoraRef("b", 0.6, hash10="abc"), LoraRef("c", 1.0, False)),
    )
    owned = lora_sync.prompt_owns_loras(request)
    assert owned.prompt == "<lora:a:0.9> dog <lora:b:0.6>"
    assert owned.loras == (LoraRef("c", 1.0, False),)
    assert lora_sync.prompt_owns_loras(owned) is owned


def test_the_engine_gets_the_lora_folders_when_built_and_on_every_change(qtbot):
    from fake_engine import FakeEngine

    from studio.backend.local import LocalBackend
    from studio.engine.config import EngineConfig
    from studio.state.worker import GenerationWorker

    engine, built_with = FakeEngine(), []
    backend = LocalBackend(
        EngineConfig(lora_dirs=("/a1111",)), engine_factory=lambda config: built_with.append(config) or engine
    )
    worker = GenerationWorker(backend)
    worker.start(warm_up=True)
    try:
        qtbot.waitUntil(lambda: built_with == [EngineConfig(lora_dirs=("/a1111",))], timeout=5000)
        worker.configure(EngineConfig(lora_dirs=("/a1111", "/comfy")))
        qtbot.waitUntil(lambda: engine.configured == [EngineConfig(lora_dirs=("/a1111", "/comfy"))], timeout=5000)
    finally:
        assert worker.shutdown(2.0)
