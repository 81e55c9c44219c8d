#!/usr/bin/env bash
# Build mmcv with CUDA ops for a CUDA torch, time it and check the wheel,
# without a GPU (docs/install.md gives the result measured here).
#
#   tools/check_cuda_build.sh [--python PY] [--arch-list "8.0;8.6;9.0"]
#                             [--jobs N] [--out DIR] [--dry-run|--check-only]
#
#   --python PY     the environment whose CUDA torch to build for
#                   (default: .venv/bin/python, else python3)
#   --arch-list L   CUDA architectures (default: tools/build_mmcv.py's
#                   DEFAULT_ARCH_LIST, or TORCH_CUDA_ARCH_LIST if set)
#   --jobs N        parallel compiles (default: the number of cores)
#   --out DIR       where the wheel and build-summary.json go
#                   (default: work_dirs/cuda_build)
#   --dry-run       print the build plan only (no compile)
#   --check-only    check the wheel, build.json and build.log already in DIR
#                   (no compile)
#
# The device-code check needs cuobjdump: $CUOBJDUMP, else the toolkit's, else
# the one of pip's nvidia-cuda-cuobjdump in the environment; without one that
# check is reported as not run.
#
# Steps: tools/build_mmcv.py --cuda-ops builds the wheel (a fresh build: the
# wheel cache is a new folder under DIR); the wheel is installed into a
# private folder and imported beside torch; the check passes when its ops
# report the CUDA version torch was built with, hold the CUDA kernels of
# RoIAlign, NMS and sigmoid focal loss, and embed device code for every
# architecture asked for (cuobjdump). Exit 0 when all hold, 1 when a check
# fails, 2 on bad arguments.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { sed -n '4,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }
fail_usage() { echo "check_cuda_build.sh: $*" >&2; usage; exit 2; }

PY="" ARCH="" JOBS="" OUT="work_dirs/cuda_build" DRY=0 CHECK_ONLY=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --python) [[ $# -ge 2 ]] || fail_usage "--python needs an interpreter"
              PY="$2"; shift 2 ;;
    --arch-list) [[ $# -ge 2 ]] || fail_usage "--arch-list needs a list such as \"8.0;9.0\""
                 ARCH="$2"; shift 2 ;;
    --jobs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || \
              fail_usage "--jobs: expected a whole number >= 1, got '${2:-}'"
            JOBS="$2"; shift 2 ;;
    --out) [[ $# -ge 2 ]] || fail_usage "--out needs a folder"
           OUT="$2"; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --check-only) CHECK_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail_usage "unknown argument '$1'" ;;
  esac
done
if [[ -n "$ARCH" && ! "$ARCH" =~ ^[0-9]+\.[0-9]+(\+PTX)?([\;\ ][0-9]+\.[0-9]+(\+PTX)?)*$ ]]; then
  fail_usage "--arch-list: expected compute capabilities such as \"8.0;8.6;9.0+PTX\", got '$ARCH'"
fi
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
command -v "$PY" >/dev/null || fail_usage "--python: '$PY' is not an interpreter on PATH"
TORCH_CUDA="$("$PY" -c 'import torch; print(torch.version.cuda)' 2>/dev/null)" || \
  fail_usage "--python: torch does not import with $PY"
if [[ "$TORCH_CUDA" == None ]]; then
  fail_usage "--python: the torch of $PY is a CPU build: a CUDA build of torch is needed"
fi

BUILD_ARGS=(--cuda-ops)
[[ -n "$ARCH" ]] && BUILD_ARGS+=(--arch-list "$ARCH")
[[ -n "$JOBS" ]] && BUILD_ARGS+=(--jobs "$JOBS")
if [[ "$DRY" == 1 ]]; then
  exec "$PY" tools/build_mmcv.py --print-plan "${BUILD_ARGS[@]}"
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
if [[ "$CHECK_ONLY" == 1 ]]; then
  for f in build.json build.log; do
    [[ -f "$OUT/$f" ]] || fail_usage "--check-only: no $f in $OUT (build first)"
  done
  seconds="$("$PY" -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["build_minutes"] * 60))' "$OUT/build.json")"
else
  CACHE="$OUT/cache.$(date +%s)"
  start=$(date +%s)
  "$PY" tools/build_mmcv.py --out "$OUT" --cache "$CACHE" "${BUILD_ARGS[@]}"
  seconds=$(( $(date +%s) - start ))
  cp "$CACHE"/mmcv-*/*/build.log "$OUT/build.log"
  cp "$CACHE"/mmcv-*/*/build.json "$OUT/build.json"
  rm -rf "$CACHE"
fi
WHEEL="$(ls -t "$OUT"/mmcv-*.whl 2>/dev/null | head -n 1)"
[[ -n "$WHEEL" ]] || fail_usage "no mmcv wheel in $OUT"

SITE="$(mktemp -d)"
trap 'rm -rf "$SITE"' EXIT
"$PY" -m pip install -q --no-deps --no-cache-dir --target "$SITE" "$WHEEL"
if [[ -z "${CUOBJDUMP:-}" ]]; then
  CUDA_HOME_BUILT="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["cuda_home"])' "$OUT/build.json")"
  SITE_PACKAGES="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  for candidate in "$CUDA_HOME_BUILT/bin/cuobjdump" "$SITE_PACKAGES"/nvidia/*/bin/cuobjdump; do
    if [[ -x "$candidate" ]]; then CUOBJDUMP="$candidate"; break; fi
  done
fi
PYTHONPATH="$SITE:tools" "$PY" - "$OUT" "$seconds" "$WHEEL" "${CUOBJDUMP:-}" <<'EOF'
import json, os.path as osp, re, subprocess, sys
import torch
import mmcv._ext
import check_install

out, seconds, wheel, cuobjdump = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
build = json.load(open(osp.join(out, 'build.json')))
ext = check_install.mmcv_ext_facts()
if cuobjdump:
    listing = subprocess.run([cuobjdump, '--list-elf', '--list-ptx',
                              mmcv._ext.__file__], capture_output=True,
                             text=True).stdout
else:
    listing = None
# cuobjdump names them NAME.N.sm_XY.cubin (device code), NAME.N.sm_XY.ptx
sass = sorted(set(re.findall(r'\.sm_(\d+)\.cubin', listing or '')))
ptx = sorted(set(re.findall(r'\.sm_(\d+)\.ptx', listing or '')))
wanted = [a.split('+')[0].replace('.', '')
          for a in re.split('[; ]', build['cuda_arch_list'])]
units = re.findall(r'\[\d+/(\d+)\]', open(osp.join(out, 'build.log')).read())
checks = {
    'imports beside torch': mmcv._ext.__file__.startswith(
        osp.dirname(osp.dirname(mmcv.__file__))),
    f"CUDA {ext['compiled_cuda']} = torch's {torch.version.cuda}":
        ext['compiled_cuda'].split('.')[:2] == torch.version.cuda.split('.')[:2],
    'CUDA kernels: ' + ', '.join(ext['kernels']):
        len(ext['kernels']) == len(check_install.CUDA_KERNELS),
    'recorded build info': ext['build'] is not None and ext['build']['cuda_ops'],
}
not_run = []
if listing is None:
    not_run.append('device code per architecture: no cuobjdump (set '
                   'CUOBJDUMP, or pip install nvidia-cuda-cuobjdump)')
else:
    checks[f"device code for sm_{', sm_'.join(sass)} covers "
           f"{', '.join(wanted)}"] = set(wanted) <= set(sass)
    if any('+PTX' in a for a in build['cuda_arch_list'].split(';')):
        checks[f"PTX for sm_{', sm_'.join(ptx)}"] = bool(ptx)
summary = dict(torch=torch.__version__, torch_cuda=torch.version.cuda,
               arch_list=build['cuda_arch_list'], cxx_std=build['cxx_std'],
               units=int(units[-1]) if units else None, seconds=seconds,
               wheel=osp.basename(wheel),
               wheel_mb=round(osp.getsize(wheel) / 2**20, 1),
               sass=['sm_' + a for a in sass],
               ptx=['sm_' + a for a in ptx],
               checks={k: bool(v) for k, v in checks.items()},
               not_run=not_run)
json.dump(summary, open(osp.join(out, 'build-summary.json'), 'w'), indent=2)
print(f"CUDA build of mmcv for torch {torch.__version__}: "
      f"{summary['units']} units in {seconds / 60:.1f} min, "
      f"{summary['wheel_mb']} MB wheel")
for name, ok in checks.items():
    print(('PASS ' if ok else 'FAIL ') + name)
for name in not_run:
    print('NOT RUN ' + name)
sys.exit(0 if all(checks.values()) else 1)
EOF
