#!/usr/bin/env bash
# The GPU checks of issue 12 (VRAM tiers, fast mode) in one command, for a machine with one NVIDIA GPU.
#
# On the machine that has the internet (once, in the repository root): fetch the wheels the GPU image lacks.
#     bash tests/benchmarks/gpu_run.sh prepare
# On the GPU machine (the repository copied there with .whl beside it; output under $OUT, else ./gpu-out):
#     bash tests/benchmarks/gpu_run.sh
#
# What it runs, in this order so the cheapest figures come first if time runs out (about 8–9 minutes on an
# H100/H200 by the issue's anchors: first compiles of 57 s and 87 s, a warm start each, the tier runs):
#   1. the CUDA-only tests (group offload with a stream; the engine tests on the GPU),
#   2. engine_overhead.py --full (plain diffusers vs the studio, SD1.5 512², 30 steps),
#   3. fast_mode.py: SD1.5 512² then SDXL 1024², 30 steps: plain / studio eager / studio fast alternating, it/s,
#      ms/step, first compile, warm start from the cache, peak VRAM per tier (SDXL also with a ControlNet).
set -uo pipefail
cd "$(dirname "$0")/../.."

WHEELS=(diffusers==0.42.1 importlib_metadata==10.2.0 lazy-importer==0.1.0)

if [[ "${1:-}" == "prepare" ]]; then
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> "$(git rev-parse --git-path info/exclude)"
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform any -d .whl "${WHEELS[@]}"
    ls -l .whl
    exit $?
fi

OUT="${OUT:-gpu-out}"
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}"  # the scripts run from tests/benchmarks: the studio is imported from here
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export DIFFUSION_STUDIO_HOME="${DIFFUSION_STUDIO_HOME:-/tmp/studio-home}"
log="$OUT/gpu_run.log"
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import torch, diffusers, transformers; print('torch', torch.__version__, 'diffusers', \
diffusers.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"
    echo "== CUDA-only tests"
    timeout 90 python3 -m pytest -q -p no:cacheprovider -x tests/engine/test_memory_tiers.py \
        -k "cuda or tier_table or out_of_memory" 2>&1 | tail -5
    echo "== engine_overhead.py --full"
    timeout 100 python3 tests/benchmarks/engine_overhead.py --full --runs 5
    echo "== fast_mode.py ${FAST_MODE_ARGS:=--runs 3}"
    # 400 s keeps the whole call under the device's 10 minutes; SD1.5 prints first. For a second call:
    # FAST_MODE_ARGS="--families sdxl --runs 3" bash tests/benchmarks/gpu_run.sh
    timeout 400 python3 tests/benchmarks/fast_mode.py $FAST_MODE_ARGS
} 2>&1 | tee "$log"
