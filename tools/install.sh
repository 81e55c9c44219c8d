#!/usr/bin/env bash
# One-command install of mmattn and its pinned OpenMMLab stack (see README).
#
#   make install                      # into ./.venv (created if missing)
#   make install VENV=/path/to/venv   # another virtual environment
#   make install MMATTN_PYTHON=python # into the environment of that python
#
# Pins live in requirements/stack.txt. torch (with its torchvision) is
# installed only when absent: a user's own build is never replaced. mmcv is
# compiled from source with its ops by tools/build_mmcv.py, for the installed
# torch: CPU ops, or CUDA ops when a GPU is visible or MMATTN_CUDA_OPS=1 (see
# docs/install.md). Its wheel is cached per torch build, CUDA version and
# architectures in $MMATTN_WHEEL_CACHE; pip's own cache never supplies it. A
# warm environment is recognised by one check and left alone in seconds.
set -Eeuo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
STEP="start"
log() { echo "[mmattn install] $*"; }
trap 'echo "[mmattn install] FAILED in step \"$STEP\" (exit $?): see the output above" >&2' ERR

pin() { sed -n "s/^$1==\(.*\)$/\1/p" requirements/stack.txt; }
TORCH_PIN="$(pin torch)"; TORCHVISION_PIN="$(pin torchvision)"; MMENGINE_PIN="$(pin mmengine)"; MMCV_PIN="$(pin mmcv)"
MMSEG_PIN="$(pin mmsegmentation)"; MMDET_PIN="$(pin mmdet)"
MMPRETRAIN_PIN="$(pin mmpretrain)"

STEP="python environment"
if [ -n "${MMATTN_PYTHON:-}" ]; then
  PY="$(command -v "$MMATTN_PYTHON")"
  log "using the existing environment of $PY"
else
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    python3 -m venv "$VENV"
  fi
  PY="$VENV/bin/python"
fi
PIP=("$PY" -m pip --disable-pip-version-check)
# pip, quietly; on failure its output (less the local mirror's noise) is shown.
pipq() {
  local out
  if ! out="$("${PIP[@]}" "$@" 2>&1)"; then
    echo "$out" | grep -v 'is ignored' | tail -n 40 >&2
    return 1
  fi
}

STEP="check"
if "$PY" tools/check_install.py --quiet 2>/dev/null; then
  log "already installed: nothing to do"
  exit 0
fi

STEP="torch"
if "$PY" -c "import torch" 2>/dev/null; then
  log "keeping the installed torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)"
else
  log "installing torch==$TORCH_PIN and torchvision==$TORCHVISION_PIN"
  pipq install "torch==$TORCH_PIN" "torchvision==$TORCHVISION_PIN"
fi
TORCH_BUILD="$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)"
TORCHVISION_BUILD="$("$PY" -c 'import torchvision; print(torchvision.__version__)' 2>/dev/null || true)"

STEP="runtime dependencies"
log "installing runtime and test dependencies"
# The OpenMMLab packages go in with --no-deps below: their metadata asks for
# opencv-python (needs libGL) and would let pip upgrade torch.
grep -v -E '^(torch|mmengine|mmcv|mmsegmentation|mmdet|mmpretrain)([<>=!~ ]|$)' requirements/runtime.txt \
  | grep -v '^#' | grep -v '^$' > /tmp/mmattn-reqs.$$.txt
cat requirements/tests.txt >> /tmp/mmattn-reqs.$$.txt
# The constraint keeps whatever torch (and torchvision) is installed.
echo "torch==$TORCH_BUILD" > /tmp/mmattn-constraints.$$.txt
if [ -n "$TORCHVISION_BUILD" ]; then
  echo "torchvision==$TORCHVISION_BUILD" >> /tmp/mmattn-constraints.$$.txt
fi
# An installed numpy stays too: older torch wheels (2.1) need numpy 1.x.
NUMPY_BUILD="$("$PY" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true)"
if [ -n "$NUMPY_BUILD" ]; then
  echo "numpy==$NUMPY_BUILD" >> /tmp/mmattn-constraints.$$.txt
fi
pipq install -r /tmp/mmattn-reqs.$$.txt -c /tmp/mmattn-constraints.$$.txt
rm -f /tmp/mmattn-reqs.$$.txt /tmp/mmattn-constraints.$$.txt
pipq install --no-deps -r requirements/tests-no-deps.txt

STEP="mmengine"
log "installing mmengine==$MMENGINE_PIN"
pipq install --no-deps "mmengine==$MMENGINE_PIN"

STEP="mmcv (compiled ops)"
# Builds (CPU ops: minutes, CUDA ops: much longer; docs/install.md has the
# times) or reuses the cached wheel; keeps an installed mmcv that fits.
"$PY" tools/build_mmcv.py --install --keep-fitting

STEP="mmsegmentation, mmdet and mmpretrain"
log "installing mmsegmentation==$MMSEG_PIN, mmdet==$MMDET_PIN and mmpretrain==$MMPRETRAIN_PIN"
pipq install --no-deps "mmsegmentation==$MMSEG_PIN" "mmdet==$MMDET_PIN" \
  "mmpretrain==$MMPRETRAIN_PIN"

STEP="mmattn (editable)"
log "installing mmattn in editable mode"
pipq install --no-deps --no-build-isolation -e .

STEP="final check"
"$PY" tools/check_install.py
log "done"
