"""Device and precision choice, thread caps, and the fp16 VAE NaN/black fallback (exercised on the CPU)."""

from __future__ import annotations

import pytest
import torch

from studio.engine import devices
from studio.engine.devices import (
    SafeDecoder,
    auto_precision,
    is_broken_decode,
    pick_device,
    pick_dtype,
    set_threads,
    unscale_latents,
)
from studio.engine.lazy import torch_modules
from studio.errors import RequestError


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_device_preference_is_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    torch_modules()  # import diffusers first: torch._dynamo inspects torch.cuda.is_available when it loads
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert pick_device() == expected
    assert pick_device("cuda:1") == "cuda:1"


def test_precision_choice():
    assert pick_dtype("cpu") is torch.float32
    assert pick_dtype("cuda") is torch.float16
    assert pick_dtype("cuda:0", "bf16") is torch.bfloat16
    assert pick_dtype("cuda", "fp32") is torch.float32
    with pytest.raises(RequestError, match="Unknown precision 'fp8'.*auto, fp16, bf16, fp32"):
        pick_dtype("cpu", "fp8")


def test_torch_threads_are_capped():
    before = torch.get_num_threads()
    try:
        set_threads(1)
        assert torch.get_num_threads() == 1
        set_threads(None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_broken_decodes_are_detected():
    good = torch.rand(1, 3, 8, 8) * 2 - 1
    assert not is_broken_decode(good)
    nan = good.clone()
    nan[0, 1, 2, 3] = float("nan")
    assert is_broken_decode(nan)
    assert is_broken_decode(torch.full((1, 3, 8, 8), float("inf")))
    assert is_broken_decode(torch.full((1, 3, 8, 8), -1.0))  # all black
    assert not is_broken_decode(torch.full((1, 3, 8, 8), -0.5))


class FakeVae(torch.nn.Module):
    """A VAE whose half-precision decode overflows, as SDXL's fp16 VAE does."""

    def __init__(self, dtype):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1, dtype=dtype))
        self.config = type("Config", (), {"scaling_factor": 0.5, "latents_mean": None, "latents_std": None})()
        self.calls: list[torch.dtype] = []

    @property
    def dtype(self):
        return self.weight.dtype

    def decode(self, latents, return_dict=False):
        assert latents.dtype == self.dtype
        self.calls.append(self.dtype)
        if self.dtype != torch.float32:
            return (torch.full((latents.shape[0], 3, 8, 8), float("nan"), dtype=self.dtype),)
        return (latents[:, :3].float() * 0 + 0.25,)


def test_half_precision_nan_is_decoded_again_in_fp32_with_a_notice():
    vae = FakeVae(torch.bfloat16)
    decoder = SafeDecoder(vae)
    notices: list[str] = []
    image = decoder.decode(torch.ones(1, 4, 8, 8, dtype=torch.bfloat16), notices)
    assert torch.isfinite(image).all() and image.dtype == torch.float32
    assert vae.calls == [torch.bfloat16, torch.float32]
    assert notices == [devices.UPCAST_NOTICE]
    assert vae.dtype == torch.bfloat16  # cast back so the pipeline's own encode keeps its dtype
    # Later decodes go straight to fp32, without another failed try or another notice.
    decoder.decode(torch.ones(1, 4, 8, 8, dtype=torch.bfloat16), notices)
    assert vae.calls == [torch.bfloat16, torch.float32, torch.float32] and len(notices) == 1


def test_fp32_decode_is_never_retried():
    vae = FakeVae(torch.float32)
    notices: list[str] = []
    SafeDecoder(vae).decode(torch.ones(1, 4, 8, 8), notices)
    assert vae.calls == [torch.float32] and notices == []


def test_nan_latents_are_an_error_and_do_not_blame_the_vae():
    vae = FakeVae(torch.bfloat16)
    decoder = SafeDecoder(vae)
    latents = torch.ones(1, 4, 8, 8, dtype=torch.bfloat16)
    latents[0, 2, 3, 4] = float("nan")
    with pytest.raises(RequestError) as raised:
        decoder.decode(latents, [])
    assert str(raised.value) == devices.BROKEN_LATENTS
    assert vae.calls == [] and not decoder.needs_fp32  # no decode wasted; the next one keeps half precision


class BrokenVae(FakeVae):
    """A VAE whose weights are broken: NaN in every precision."""

    def decode(self, latents, return_dict=False):
        self.calls.append(self.dtype)
        return (torch.full((latents.shape[0], 3, 8, 8), float("nan"), dtype=self.dtype),)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_a_vae_that_gives_nan_even_in_fp32_is_an_error_not_a_black_picture(dtype):
    vae = BrokenVae(dtype)
    with pytest.raises(RequestError) as raised:
        SafeDecoder(vae).decode(torch.ones(1, 4, 8, 8, dtype=dtype), [])
    assert str(raised.value) == devices.BROKEN_VAE
    assert vae.calls[-1] == torch.float32 and vae.dtype == dtype  # fp32 was tried, the VAE cast back


def test_an_all_black_fp32_decode_is_a_picture():
    """Only NaN/inf is an error: a finite black picture (a night sky) is what was asked for."""
    vae = FakeVae(torch.float32)
    vae.decode = lambda latents, return_dict=False: (torch.full((1, 3, 8, 8), -1.0),)
    assert bool((SafeDecoder(vae).decode(torch.ones(1, 4, 8, 8), []) == -1.0).all())


def test_unscale_uses_latent_mean_and_std_when_the_vae_has_them():
    vae = FakeVae(torch.float32)
    latents = torch.ones(1, 4, 2, 2)
    assert torch.equal(unscale_latents(vae, latents), latents / 0.5)
    vae.config.latents_mean = [1.0, 2.0, 3.0, 4.0]
    vae.config.latents_std = [2.0, 2.0, 2.0, 2.0]
    assert unscale_latents(vae, latents)[0, :, 0, 0].tolist() == [5.0, 6.0, 7.0, 8.0]


def test_free_memory_runs_without_a_gpu():
    devices.free_memory("cpu")


@pytest.mark.parametrize(
    ("kind", "capability", "expected"),
    [
        ("cpu", None, "fp32"),
        ("cuda", (9, 0), "fp16"),  # H100
        ("cuda", (8, 6), "fp16"),  # RTX 30xx
        ("cuda", (7, 0), "fp16"),  # V100: the first with fast fp16
        ("cuda", (6, 1), "fp32"),  # GTX 10xx: fp16 at 1/64 of fp32's speed
        ("cuda", None, "fp16"),
        ("mps", None, "fp16"),
        ("xpu", None, "bf16"),
    ],
)
def test_auto_precision_is_the_fast_half_type_of_each_card(kind, capability, expected):
    assert auto_precision(kind, capability) == expected
