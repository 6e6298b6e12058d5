"""Saving results: names, counter, no overwrite, atomic writes, clear errors."""

from __future__ import annotations

import errno
import os

import pytest
from PIL import Image

from studio.atomic import atomic_write_bytes, atomic_write_text
from studio.errors import SaveError
from studio.metadata.reader import read_image_settings
from studio.metadata.saving import next_counter, save_result, slugify
from studio.request import GenerationRequest, HiresSettings
from studio.results import GenerationResult, ModelInfo


def make_result(prompt: str = "a knight in armor", seeds=(1234567,), **changes) -> GenerationResult:
    request = GenerationRequest(
        model="tiny-sd15", prompt=prompt, negative_prompt="blurry", seed=seeds[0], steps=2, width=64, height=64,
        batch_size=len(seeds), **changes,
    )  # fmt: skip
    images = [Image.new("RGB", (64, 64), (10 * i, 100, 200)) for i in range(len(seeds))]
    return GenerationResult(
        request=request, images=images, seeds=list(seeds), prompt=prompt + ", masterpiece",
        negative_prompt="blurry", model=ModelInfo(name="tiny-sd15", family="sd15", hash10="abcdef0123"),
    )  # fmt: skip


def test_round_trip_restores_each_image_request_with_its_seed(tmp_path):
    result = make_result(
        seeds=(41, 42), hires=HiresSettings(scale=2.0, strength=0.4, steps=3, upscaler="Lanczos")
    )
    paths = save_result(result, tmp_path)
    assert len(paths) == 2
    for path, seed in zip(paths, result.seeds, strict=True):
        settings = read_image_settings(path)
        assert settings.source == "diffusion-studio"
        assert settings.request == result.request.with_changes(seed=seed)
        assert settings.unmapped == []
        # Other tools see A1111 text with the composed prompt and this image's seed.
        assert settings.raw["parameters"].startswith(
            "a knight in armor, masterpiece\nNegative prompt: blurry\n"
        )
        assert f"Seed: {seed}," in settings.raw["parameters"]


def test_names_counter_seed_and_slug(tmp_path):
    (tmp_path / "00011-5-old.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not counted")
    paths = save_result(make_result(seeds=(1234567, 1234568)), tmp_path)
    assert [p.name for p in paths] == [
        "00012-1234567-a-knight-in-armor-masterpiece.png",
        "00013-1234568-a-knight-in-armor-masterpiece.png",
    ]
    assert next_counter(tmp_path) == 14


def test_counter_starts_at_zero_in_a_new_folder(tmp_path):
    paths = save_result(make_result(), tmp_path / "new" / "folder")
    assert paths[0].name.startswith("00000-1234567-")


def test_never_overwrites_an_existing_file(tmp_path, monkeypatch):
    existing = tmp_path / "00000-1234567-a-knight-in-armor-masterpiece.png"
    existing.write_bytes(b"keep me")
    # The counter scan misses it (as if another process wrote it just now): the name must still be skipped.
    monkeypatch.setattr("studio.metadata.saving.next_counter", lambda folder: 0)
    paths = save_result(make_result(), tmp_path)
    assert existing.read_bytes() == b"keep me"
    assert paths[0].name.startswith("00001-")


def test_unicode_prompt_saves_with_ascii_name_and_restores(tmp_path):
    result = make_result(prompt="Ritter in Rüstung, 猫 — «éclair»")
    path = save_result(result, tmp_path)[0]
    assert path.name == f"00000-1234567-{slugify(result.prompt)}.png"
    assert path.name.isascii()
    settings = read_image_settings(path)
    assert settings.request.prompt == "Ritter in Rüstung, 猫 — «éclair»"
    assert settings.raw["parameters"].startswith("Ritter in Rüstung, 猫 — «éclair», masterpiece")


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("A knight in armor", "a-knight-in-armor"),
        ("  CON: <nul>/ aux? ", "con-nul-aux"),
        ("Éléphant café", "elephant-cafe"),
        ("猫", "image"),
        ("", "image"),
    ],
)
def test_slug_is_safe_ascii(text, slug):
    assert slugify(text) == slug


def test_slug_is_at_most_40_chars_and_cut_on_a_word():
    slug = slugify("a very long prompt about a knight standing in the rain at dusk with a sword")
    assert len(slug) <= 40
    assert slug == "a-very-long-prompt-about-a-knight"
    assert len(slugify("x" * 100)) == 40


def test_full_disk_raises_save_error_and_leaves_no_temp_file(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "link", no_space)
    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(SaveError) as caught:
        save_result(make_result(), tmp_path)
    message = str(caught.value)
    assert "No space left on device" in message and str(tmp_path) in message
    assert "kept in the studio" in message and "choose another output folder" in message
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_raises_save_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    # A folder "inside" a regular file cannot exist; unlike chmod this also holds when running as root.
    with pytest.raises(SaveError, match="Could not save .* to .*a-file/out"):
        save_result(make_result(), blocker / "out")


def test_atomic_write_replaces_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "session.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    with pytest.raises(FileExistsError):
        atomic_write_bytes(target, b"three", overwrite=False)
    assert target.read_text() == "two"

    def fail(*args, **kwargs):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        atomic_write_text(target, "four")
    assert target.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.json"]
