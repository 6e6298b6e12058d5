"""Tiny random-weight models, built offline in seconds.

They have the shapes of the real families (SD1.x: one CLIP text encoder, 4-channel latents at 1/8 of the image
size; SDXL: two text encoders, pooled text embeddings and size conditioning) but a few thousand weights each, so
the tests and the offline demo run every code path without downloading anything. Their pictures are noise: the
studio labels them "random weights — shows the workflow, not a picture".

The CLIP tokenizer is built from a byte-level vocabulary and an empty merges file: every character is a token,
which is enough to exercise tokenisation, truncation and chunking.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.atomic import make_shared, make_tree_shared
from studio.engine.lazy import torch_modules

TINY_SEED = 0


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte → printable character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def write_tiny_tokenizer(folder: Path, pad_token: str = "<|endoftext|>") -> None:
    """Write a byte-level CLIP tokenizer (vocab.json, empty merges.txt, configs) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(vocab_list)}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": 77,
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": pad_token,
        "do_lower_case": True,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(
        json.dumps({k: config[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")}, indent=2),
        encoding="utf-8",
    )


TINY_VOCAB_SIZE = 514  # 256 bytes, 256 end-of-word bytes, start and end tokens


def _tiny_vae():
    diffusers = torch_modules().diffusers
    # Four blocks give the real 1/8 latent scale, so sizes and previews behave as with a real model.
    return diffusers.AutoencoderKL(
        block_out_channels=(8, 8, 8, 8),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=4,
        sample_size=64,
    )


def _clip_config(hidden_size: int, projection_dim: int | None = None):
    transformers = torch_modules().transformers
    return transformers.CLIPTextConfig(
        bos_token_id=TINY_VOCAB_SIZE - 2,
        eos_token_id=TINY_VOCAB_SIZE - 1,
        pad_token_id=TINY_VOCAB_SIZE - 1,
        hidden_size=hidden_size,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=TINY_VOCAB_SIZE,
        max_position_embeddings=77,
        projection_dim=projection_dim or hidden_size,
    )


def _scheduler_config() -> dict:
    # The real SD schedule, so samplers behave as they do on a real model.
    return {
        "_class_name": "PNDMScheduler",
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000,
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "prediction_type": "epsilon",
        "timestep_spacing": "leading",
    }


# The tiny UNet both families share; each adds its own conditioning.
_TINY_UNET = {
    "block_out_channels": (32, 64),
    "layers_per_block": 1,
    "sample_size": 8,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
}


def build_tiny_sd15_components() -> dict:
    """Components of an SD1.x-shaped pipeline with random weights (seeded, so always the same)."""
    mods = torch_modules()
    torch, diffusers, transformers = mods.torch, mods.diffusers, mods.transformers
    torch.manual_seed(TINY_SEED)
    unet = diffusers.UNet2DConditionModel(
        **_TINY_UNET,
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    torch.manual_seed(TINY_SEED)
    vae = _tiny_vae()
    torch.manual_seed(TINY_SEED)
    text_encoder = transformers.CLIPTextModel(_clip_config(32))
    scheduler = diffusers.PNDMScheduler.from_config(_scheduler_config())
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder,
        "scheduler": scheduler,
        "safety_checker": None,
        "feature_extractor": None,
        "image_encoder": None,
    }


def build_tiny_sdxl_components(text_encoder_2_width: int = 32) -> dict:
    """Components of an SDXL-shaped pipeline with random weights: two text encoders and size conditioning.

    ``text_encoder_2_width`` other than 32 gives the second encoder its own width, as in the real SDXL (768 vs
    1280): diffusers tells the two encoders of a single-file checkpoint apart by width.
    """
    mods = torch_modules()
    torch, diffusers, transformers = mods.torch, mods.diffusers, mods.transformers
    torch.manual_seed(TINY_SEED)
    unet = diffusers.UNet2DConditionModel(
        **_TINY_UNET,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        # 6 size/crop values x 8 + the pooled text embedding of the second encoder
        projection_class_embeddings_input_dim=48 + text_encoder_2_width,
        cross_attention_dim=32 + text_encoder_2_width,  # both text encoders' hidden states side by side
        norm_num_groups=32,
    )
    torch.manual_seed(TINY_SEED)
    vae = _tiny_vae()
    torch.manual_seed(TINY_SEED)
    text_encoder = transformers.CLIPTextModel(_clip_config(32))
    torch.manual_seed(TINY_SEED)
    text_encoder_2 = transformers.CLIPTextModelWithProjection(
        _clip_config(text_encoder_2_width, projection_dim=text_encoder_2_width)
    )
    scheduler = diffusers.EulerDiscreteScheduler.from_config(
        {**_scheduler_config(), "_class_name": "EulerDiscreteScheduler", "interpolation_type": "linear"}
    )
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder,
        "text_encoder_2": text_encoder_2,
        "scheduler": scheduler,
        "image_encoder": None,
        "feature_extractor": None,
    }


def _load_tokenizer(folder: Path):
    return torch_modules().transformers.CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def write_tiny_pipeline(folder: Path, pipeline_class: str, components: dict, **options: object) -> Path:
    """Save ``components`` as a ``pipeline_class`` folder with its byte-level tokenizer(s); return the folder.

    SDXL pipelines (``tokenizer_2`` among their components) get the second tokenizer, which pads with "!".
    """
    folder = Path(folder)
    cls = getattr(torch_modules().diffusers, pipeline_class)
    write_tiny_tokenizer(folder / "tokenizer")
    tokenizers = {"tokenizer": _load_tokenizer(folder / "tokenizer")}
    if "text_encoder_2" in components:
        write_tiny_tokenizer(folder / "tokenizer_2", pad_token="!")
        tokenizers["tokenizer_2"] = _load_tokenizer(folder / "tokenizer_2")
    cls(**tokenizers, **components, **options).save_pretrained(str(folder), safe_serialization=True)
    make_tree_shared(folder)  # safetensors writes 0600; models are shared with other tools
    return folder


def write_tiny_sd15(folder: Path) -> Path:
    """Write an SD1.x-shaped diffusers pipeline folder into ``folder`` and return it."""
    components = build_tiny_sd15_components()
    return write_tiny_pipeline(folder, "StableDiffusionPipeline", components, requires_safety_checker=False)


def write_tiny_sdxl(folder: Path, *, text_encoder_2_width: int = 32) -> Path:
    """Write an SDXL-shaped diffusers pipeline folder into ``folder`` and return it."""
    return write_tiny_pipeline(
        folder, "StableDiffusionXLPipeline", build_tiny_sdxl_components(text_encoder_2_width)
    )


def write_tiny_sd15_single_file(path: Path) -> Path:
    """Write the tiny SD1.x model as one A1111-style ``.safetensors`` checkpoint plus its sidecar config folder.

    The keys are the original LDM layout (``model.diffusion_model.*``, ``first_stage_model.*``,
    ``cond_stage_model.transformer.*``), so loading it exercises the same path as a checkpoint from Civitai.
    The weights are exactly those of ``write_tiny_sd15``, so both give the same image. Its shapes are not
    SD1.5's, so its diffusers configs (no weights) go beside it as ``NAME.config/``, where the single-file loader
    looks first (see ``single_file.config_folder_for``).
    """
    from studio.engine.ldm_export import sd15_pipeline_to_ldm

    components = build_tiny_sd15_components()
    state = sd15_pipeline_to_ldm(components["unet"], components["vae"], components["text_encoder"])
    return _write_single_file(Path(path), state, write_tiny_sd15, "sd15")


SDXL_SINGLE_FILE_WIDTH = 40


def write_tiny_sdxl_single_file(path: Path) -> Path:
    """The tiny SDXL model as one SGM-layout checkpoint (``conditioner.embedders.{0,1}``) plus its sidecar.

    Its second text encoder is ``SDXL_SINGLE_FILE_WIDTH`` wide (the folder model's is 32, the same as the first,
    which a single file cannot express); ``write_tiny_sdxl(folder, text_encoder_2_width=40)`` is its twin.
    """
    from functools import partial

    from studio.engine.ldm_export import sdxl_pipeline_to_ldm

    width = SDXL_SINGLE_FILE_WIDTH
    c = build_tiny_sdxl_components(width)
    state = sdxl_pipeline_to_ldm(c["unet"], c["vae"], c["text_encoder"], c["text_encoder_2"])
    return _write_single_file(Path(path), state, partial(write_tiny_sdxl, text_encoder_2_width=width), "sdxl")


def _write_single_file(path: Path, state: dict, write_folder, family: str) -> Path:
    import shutil

    from safetensors.torch import save_file

    from studio.engine.single_file import SIDECAR_SUFFIX

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"format": "pt", "studio_tiny_model": family})
    make_shared(path)  # safetensors writes 0600
    sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
    if sidecar.exists():
        shutil.rmtree(sidecar)
    write_folder(sidecar)
    for weights in sidecar.rglob("*.safetensors"):
        weights.unlink()  # the sidecar holds configs only; the weights are in the single file
    return path
