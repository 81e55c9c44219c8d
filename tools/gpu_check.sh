#!/usr/bin/env bash
# One-command GPU check of mmattn: ops, blocks, benchmarks, mmseg/mmdet when
# they import; one summary table (tools/analysis_tools/gpu_check.py).
#
#   tools/gpu_check.sh --prepare DIR   on a CPU machine with the package
#                                      index: download the pure-Python
#                                      wheels the check needs beyond torch
#                                      (mmengine, mmcv-lite and their small
#                                      dependencies) into DIR
#   tools/gpu_check.sh [--wheels DIR] [ARGS...]
#                                      on the GPU machine: install DIR's
#                                      wheels into a private folder (offline,
#                                      nothing else touched) and run the
#                                      check; ARGS go to gpu_check.py
#                                      (--json FILE, --device, --tiny,
#                                      --mmcv-wheel FILE: a CUDA mmcv wheel
#                                      of tools/check_cuda_build.sh, checked
#                                      when built for the torch found there)
#
# The GPU machine's torch is read there (its version is printed first),
# never assumed to be ours.
#
# The check ends within 8 minutes (its own budget is 7; `timeout` stops it at
# 8). Without CUDA it prints SKIP rows and exits 0. The exit status is 1 when
# a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-}
if [[ -z "$PYTHON" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

# pure-Python wheels (any Python 3, any platform); the GPU image already has
# numpy, opencv-python-headless, matplotlib, pyyaml, rich and packaging
WHEELS=(mmengine==0.10.7 mmcv-lite==2.1.0 addict termcolor yapf platformdirs
        "setuptools>=77,<81")

if [[ "${1:-}" == "--prepare" ]]; then
    dir=${2:?usage: tools/gpu_check.sh --prepare DIR}
    mkdir -p "$dir"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation py --abi none \
        --platform any -d "$dir" "${WHEELS[@]}"
    ls -1 "$dir"
    echo "wheels for the GPU check are in $dir:" \
         "run tools/gpu_check.sh --wheels $dir there"
    exit 0
fi

if [[ "${1:-}" == "--wheels" ]]; then
    dir=${2:?usage: tools/gpu_check.sh --wheels DIR}
    shift 2
    site=$(mktemp -d "${TMPDIR:-/tmp}/mmattn_gpu_site.XXXXXX")
    trap 'rm -rf "$site"' EXIT
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --target "$site" "$dir"/*.whl
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi

# not exec: the EXIT trap removes the unpacked wheels afterwards
timeout 480 "$PYTHON" tools/analysis_tools/gpu_check.py "$@"
