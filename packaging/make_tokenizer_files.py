"""Build the CLIP tokenizer files (vocab.json, merges.txt) that single-file checkpoints need offline.

Hugging Face's ``openai/clip-vit-large-patch14`` tokenizer is OpenAI's CLIP BPE vocabulary written in the
``transformers`` format. The hub is not always reachable, but the BPE file itself ships in PyPI packages, so the
files are rebuilt here with the same construction as OpenAI's ``SimpleTokenizer``:

    256 byte characters, the same with "</w>", one token per merge (48 894 merges), then
    "<|startoftext|>" and "<|endoftext|>"  ->  49 408 tokens.

Usage (the generated files are committed; rerun only to rebuild them)::

    pip download --no-deps open_clip_torch -d /tmp/clip
    unzip -j /tmp/clip/open_clip_torch-*.whl open_clip/bpe_simple_vocab_16e6.txt.gz -d /tmp/clip
    python packaging/make_tokenizer_files.py /tmp/clip/bpe_simple_vocab_16e6.txt.gz

It writes ``resources/model_configs/clip_tokenizer/{vocab.json,merges.txt}``, shared by the SD1.x tokenizer and
both SDXL tokenizers (they differ only in their ``tokenizer_config.json``, kept in each family's folder).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.engine.tiny_models import bytes_to_unicode  # noqa: E402 - after the checkout is importable

OUT = ROOT / "resources" / "model_configs" / "clip_tokenizer"
# OpenAI's SimpleTokenizer keeps the first 49152 - 256 - 2 merges of the file (its first line is a header).
MERGE_COUNT = 49152 - 256 - 2
VOCAB_SIZE = 49408


def build(bpe_gz: Path) -> tuple[dict[str, int], list[str]]:
    """The vocabulary (token -> id) and the merge lines, as OpenAI's SimpleTokenizer builds them."""
    lines = gzip.open(bpe_gz).read().decode("utf-8").split("\n")
    merges = lines[1 : MERGE_COUNT + 1]
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols]
    tokens += ["".join(merge.split()) for merge in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    if len(tokens) != VOCAB_SIZE:
        raise SystemExit(f"Expected {VOCAB_SIZE} tokens, built {len(tokens)}: is this the CLIP BPE file?")
    return {token: i for i, token in enumerate(tokens)}, merges


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    vocab, merges = build(Path(argv[0]))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (OUT / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    print(f"Wrote {len(vocab)} tokens and {len(merges)} merges to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
