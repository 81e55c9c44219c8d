#!/usr/bin/env bash
# Install mmattn on each supported torch stack, each in its own virtual
# environment, and run the suite's stack subset there (pytest -m stack:
# import and registration, one training iteration per task, resume, ONNX
# export, the ops). Prints the compatibility table of docs/install.md.
#
#   tools/check_stacks.sh [--stacks NAME,NAME] [--fresh] [--root DIR]
#                         [--out DIR] [--list]
#
#   --stacks   which stacks (default: all of STACKS below)
#   --fresh    empty caches: remove the stack's environment and build mmcv
#              again with pip's cache off (the install log then shows a
#              first install); without it an environment that passes
#              tools/check_install.py is reused (cached per torch build)
#   --root     where the environments live (default ~/.cache/mmattn/stacks)
#   --out      logs, results.json and table.md (default work_dirs/stacks)
#   --list     print the stacks and exit
#
# Exit 0 when every stack installed and passed its subset, 1 otherwise, 2 on
# bad arguments.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT_DIR="$(pwd)"

# name | what pip installs first (torch and what it needs pinned) | note
STACKS=(
  "torch2.14.1|torch==2.14.1 torchvision==0.29.1|default: newest torch with torchvision (CUDA 13.0 build, run on CPU)"
  "torch2.13.0-cpu|torch==2.13.0|CPU build, no torchvision (mmattn's stand-in serves mmpretrain)"
  "torch2.6.0|torch==2.6.0 torchvision==0.21.0|the minimum: mmattn needs torch.library.custom_op (2.4) and torch.serialization.safe_globals (2.5) (CUDA 12.4 build, run on CPU)"
  "torch2.1.2|torch==2.1.2 torchvision==0.16.2 numpy<2|OpenMMLab mainstream (CUDA 12.1 build, run on CPU; its wheels need numpy 1.x)"
)

usage() { sed -n '6,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }
fail_usage() { echo "check_stacks.sh: $*" >&2; usage; exit 2; }

SELECTED="" FRESH=0 ENVS="${HOME}/.cache/mmattn/stacks" OUT="work_dirs/stacks"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stacks) [[ $# -ge 2 ]] || fail_usage "--stacks needs names"
              SELECTED="$2"; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    --root) [[ $# -ge 2 ]] || fail_usage "--root needs a folder"
            ENVS="$2"; shift 2 ;;
    --out) [[ $# -ge 2 ]] || fail_usage "--out needs a folder"
           OUT="$2"; shift 2 ;;
    --list) for s in "${STACKS[@]}"; do IFS='|' read -r n p d <<< "$s"
              echo "$n: $p ($d)"; done; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *) fail_usage "unknown argument '$1'" ;;
  esac
done
NAMES=()
for s in "${STACKS[@]}"; do NAMES+=("${s%%|*}"); done
if [[ -n "$SELECTED" ]]; then
  IFS=',' read -r -a WANTED <<< "$SELECTED"
  for w in "${WANTED[@]}"; do
    [[ " ${NAMES[*]} " == *" $w "* ]] || \
      fail_usage "--stacks: unknown stack '$w' (known: ${NAMES[*]})"
  done
else
  WANTED=("${NAMES[@]}")
fi
mkdir -p "$OUT" "$ENVS"
OUT="$(cd "$OUT" && pwd)"; ENVS="$(cd "$ENVS" && pwd)"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"

status=0
for s in "${STACKS[@]}"; do
  IFS='|' read -r name pins note <<< "$s"
  [[ " ${WANTED[*]} " == *" $name "* ]] || continue
  venv="$ENVS/$name"
  log="$OUT/install-$name.log"
  echo "== $name: $pins"
  if [[ "$FRESH" == 1 ]]; then rm -rf "$venv"; fi
  start=$(date +%s)
  (
    set -e
    export PIP_NO_CACHE_DIR=1
    [[ "$FRESH" == 1 ]] && export MMATTN_WHEEL_CACHE="$ENVS/.wheels-fresh.$$"
    if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
      python3 -m venv "$venv"
      echo "[check_stacks] pip install $pins"
      # shellcheck disable=SC2086  (pins are separate words)
      "$venv/bin/python" -m pip install --disable-pip-version-check -q $pins
    fi
    make -C "$ROOT_DIR" install MMATTN_PYTHON="$venv/bin/python"
    [[ "$FRESH" == 1 ]] && rm -rf "$MMATTN_WHEEL_CACHE"
    true
  ) 2>&1 | grep --line-buffered -v 'is ignored: it is neither' > "$log"
  install_rc=${PIPESTATUS[0]}
  install_s=$(( $(date +%s) - start ))
  torch_v="$("$venv/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo '?')"
  tv_v="$("$venv/bin/python" -c 'import torchvision; print(torchvision.__version__)' 2>/dev/null || echo none)"
  subset="not run (install failed: $log)"
  subset_s=0
  if [[ $install_rc == 0 ]]; then
    start=$(date +%s)
    TRITON_INTERPRET=1 "$venv/bin/python" -m pytest tests -q -m stack \
      -p no:cacheprovider -o addopts="" > "$OUT/subset-$name.log" 2>&1
    subset_rc=$?
    subset_s=$(( $(date +%s) - start ))
    subset="$(grep -E '^[=]* *[0-9]+ (passed|failed)|^[0-9]+ (passed|failed)|error' "$OUT/subset-$name.log" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')"
    [[ $subset_rc == 0 ]] || status=1
  else
    status=1
  fi
  echo "   install: rc $install_rc in ${install_s}s; subset: $subset (${subset_s}s)"
  python3 - "$RESULTS" <<EOF
import json, sys
with open(sys.argv[1], 'a') as f:
    f.write(json.dumps(dict(stack='$name', pins='$pins', note='''$note''',
        torch='$torch_v', torchvision='$tv_v', install_rc=$install_rc,
        install_s=$install_s, subset='''$subset''', subset_s=$subset_s,
        fresh=bool($FRESH))) + '\n')
EOF
done

python3 - "$RESULTS" "$OUT/table.md" <<'EOF'
import datetime, json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
lines = [f'Measured {datetime.date.today()} on this 2-core machine with '
         '`tools/check_stacks.sh' + (' --fresh' if rows and rows[0]['fresh']
                                      else '') + '`.', '',
         '| stack | torch | torchvision | install | stack subset (pytest -m stack) |',
         '| --- | --- | --- | --- | --- |']
for r in rows:
    install = (f"{r['install_s'] / 60:.1f} min" if r['install_rc'] == 0
               else f"FAILED after {r['install_s'] / 60:.1f} min")
    lines.append(f"| `{r['pins']}` ({r['note']}) | {r['torch']} | "
                 f"{r['torchvision']} | {install} | {r['subset']} "
                 f"({r['subset_s'] / 60:.1f} min) |")
open(sys.argv[2], 'w').write('\n'.join(lines) + '\n')
print('\n'.join(lines))
EOF
exit $status
