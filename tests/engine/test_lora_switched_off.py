"""A switched-off LoRA never stops a run, even when it is missing or made for the other model family."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.engine.lora_loader import ActiveLora, LoraState, adapter_name, requested_loras
from studio.errors import RequestError
from studio.models.lora_file import LoraEntry
from studio.models.lora_library import LoraLibrary
from studio.request import LoraRef


class FakePipe:
    """Records the adapter calls ``LoraState`` makes; a LyCORIS file (not a real one here) fails to read."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.active: list[str] = []

    def load_lora_weights(self, path: str, adapter_name: str) -> None:
        if "lycoris" in path:
            raise ValueError("unexpected keys")
        self.loaded.append(adapter_name)

    def set_adapters(self, names, adapter_weights) -> None:
        self.active = list(names)

    def enable_lora(self) -> None: ...

    def disable_lora(self) -> None:
        self.active = []

    def get_list_adapters(self) -> dict:
        return {"unet": list(self.loaded)}

    def delete_adapters(self, names) -> None:
        self.loaded = [n for n in self.loaded if n not in names]


def _entry(tmp_path: Path, name: str, family: str = "sd15", fmt: str = "kohya") -> LoraEntry:
    path = tmp_path / f"{name}.safetensors"
    path.write_bytes(b"x")
    return LoraEntry(name=name, path=path, size_bytes=1, family=family, format=fmt)


def test_a_missing_switched_off_lora_is_left_out(tmp_path):
    ink = _entry(tmp_path, "ink")
    library = LoraLibrary([ink])
    refs = [LoraRef("ink", 0.5), LoraRef("deleted-long-ago", 1.0, enabled=False)]
    chosen = requested_loras(refs, [], library, [])
    assert [(a.entry.name, a.weight, a.enabled) for a in chosen] == [("ink", 0.5, True)]
    with pytest.raises(RequestError, match="'deleted-long-ago' is not in the LoRA library"):
        requested_loras([LoraRef("deleted-long-ago", 1.0)], [], library, [])


def test_a_switched_off_lora_of_the_wrong_family_or_format_does_not_stop_the_run(tmp_path):
    good = _entry(tmp_path, "ink")
    xl = _entry(tmp_path, "xl-detail", family="sdxl")
    lycoris = _entry(tmp_path, "lycoris-style", fmt="lycoris")
    pipe, state = FakePipe(), LoraState()
    loras = [
        ActiveLora(good, 1.0),
        ActiveLora(xl, 1.0, enabled=False),
        ActiveLora(lycoris, 1.0, enabled=False),
    ]
    state.apply(pipe, loras, "sd15")
    assert pipe.loaded == [adapter_name(good)] and pipe.active == [adapter_name(good)]
    assert list(state.loaded) == [adapter_name(good)]
    # Switched on, the same LoRAs are refused with the reason.
    with pytest.raises(RequestError, match="made for SDXL models"):
        LoraState().apply(FakePipe(), [ActiveLora(xl, 1.0)], "sd15")
    with pytest.raises(RequestError, match="'lycoris-style' could not be read"):
        LoraState().apply(FakePipe(), [ActiveLora(lycoris, 1.0)], "sd15")


def test_a_usable_switched_off_lora_stays_loaded_but_inactive(tmp_path):
    ink = _entry(tmp_path, "ink")
    pipe, state = FakePipe(), LoraState()
    state.apply(pipe, [ActiveLora(ink, 1.0, enabled=False)], "sd15")
    assert pipe.loaded == [adapter_name(ink)] and pipe.active == []
