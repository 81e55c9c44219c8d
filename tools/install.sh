#!/usr/bin/env bash
# One-command install of mmattn and its pinned OpenMMLab stack (see README).
#
#   make install                      # into ./.venv (created if missing)
#   make install VENV=/path/to/venv   # another virtual environment
#   make install MMATTN_PYTHON=python # into the environment of that python
#
# Pins live in requirements/stack.txt. torch is installed only when absent
# (a user's own CUDA build is never replaced). mmcv is compiled from source
# with its ops (CPU here; CUDA when torch has CUDA and nvcc exists) once per
# torch build: the wheel is kept in $MMATTN_WHEEL_CACHE and reused. A warm
# environment is recognised by one check and left alone in seconds.
set -Eeuo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
STEP="start"
log() { echo "[mmattn install] $*"; }
trap 'echo "[mmattn install] FAILED in step \"$STEP\" (exit $?): see the output above" >&2' ERR

# Every MMATTN_PROGRESS_SECONDS (60), how many of mmcv's sources the build
# log says are compiled. A background loop: it must not inherit the ERR trap
# (set -E), or a grep that finds nothing yet would print a false FAILED line
# while the build goes on.
report_build_progress() {
  trap - ERR
  set +e +o pipefail
  local done_so_far
  while sleep "${MMATTN_PROGRESS_SECONDS:-60}"; do
    done_so_far="$(grep -o '\[[0-9]*/[0-9]*\]' "$1" 2>/dev/null | tail -n 1)"
    log "mmcv build: ${done_so_far:-no source yet} compiled"
  done
}

pin() { sed -n "s/^$1==\(.*\)$/\1/p" requirements/stack.txt; }
TORCH_PIN="$(pin torch)"; MMENGINE_PIN="$(pin mmengine)"; MMCV_PIN="$(pin mmcv)"
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
  log "installing torch==$TORCH_PIN"
  pipq install "torch==$TORCH_PIN"
fi
TORCH_BUILD="$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)"
WITH_CUDA="$("$PY" -c 'import torch; print(int(torch.version.cuda is not None))' 2>/dev/null)"

STEP="runtime dependencies"
log "installing runtime and test dependencies"
# The OpenMMLab packages go in with --no-deps below: their metadata asks for
# opencv-python (needs libGL) and would let pip upgrade torch.
grep -v -E '^(torch|mmengine|mmcv|mmsegmentation|mmdet|mmpretrain)([<>=!~ ]|$)' requirements/runtime.txt \
  | grep -v '^#' | grep -v '^$' > /tmp/mmattn-reqs.$$.txt
cat requirements/tests.txt >> /tmp/mmattn-reqs.$$.txt
# The constraint keeps whatever torch is installed from being replaced.
echo "torch==$TORCH_BUILD" > /tmp/mmattn-constraints.$$.txt
pipq install -r /tmp/mmattn-reqs.$$.txt -c /tmp/mmattn-constraints.$$.txt
rm -f /tmp/mmattn-reqs.$$.txt /tmp/mmattn-constraints.$$.txt
pipq install --no-deps -r requirements/tests-no-deps.txt

STEP="mmengine"
log "installing mmengine==$MMENGINE_PIN"
pipq install --no-deps "mmengine==$MMENGINE_PIN"

STEP="mmcv (compiled ops)"
if "$PY" -c "import mmcv, mmcv._ext, sys; sys.exit(mmcv.__version__ != '$MMCV_PIN')" 2>/dev/null; then
  log "mmcv $MMCV_PIN with compiled ops already installed"
else
  CACHE="${MMATTN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmattn/wheels}/torch$TORCH_BUILD"
  mkdir -p "$CACHE"
  WHEEL="$(ls "$CACHE"/mmcv-"$MMCV_PIN"-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$WHEEL" ]; then
    FORCE_CUDA=0
    if [ "$WITH_CUDA" = 1 ] && command -v nvcc >/dev/null; then FORCE_CUDA=1; fi
    log "building mmcv $MMCV_PIN from source with its ops (FORCE_CUDA=$FORCE_CUDA);"
    log "this takes about 20 minutes on 2 cores and happens once per torch build"
    # mmcv's setup.py imports pkg_resources and torch: build without isolation,
    # with an old setuptools placed first on the path for this build only.
    BUILD_DEPS="$CACHE/.build-deps"
    pipq install --target "$BUILD_DEPS" "setuptools<70" wheel ninja
    BUILD_LOG="$CACHE/mmcv-build.log"
    log "compiler output goes to $BUILD_LOG"
    report_build_progress "$BUILD_LOG" &
    PROGRESS=$!
    # ninja (on PATH) lets torch's extension builder compile MAX_JOBS at once.
    if ! PATH="$BUILD_DEPS/bin:$PATH" PYTHONPATH="$BUILD_DEPS" MMCV_WITH_OPS=1 FORCE_CUDA=$FORCE_CUDA MAX_JOBS="${MAX_JOBS:-2}" \
        "${PIP[@]}" wheel -v --no-deps --no-build-isolation --no-binary mmcv "mmcv==$MMCV_PIN" \
        -w "$CACHE" > "$BUILD_LOG" 2>&1; then
      kill "$PROGRESS" 2>/dev/null || true
      grep -v 'is ignored' "$BUILD_LOG" | grep -i -m 20 -B2 -A2 'error' >&2 || tail -n 40 "$BUILD_LOG" >&2
      false
    fi
    kill "$PROGRESS" 2>/dev/null || true
    WHEEL="$(ls "$CACHE"/mmcv-"$MMCV_PIN"-*.whl | head -n 1)"
  else
    log "using the cached mmcv wheel $WHEEL"
  fi
  pipq install --no-deps --force-reinstall "$WHEEL"
fi

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
