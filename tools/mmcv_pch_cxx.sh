#!/usr/bin/env bash
# The C++ compiler of tools/build_mmcv.py's mmcv build (CXX=this script).
#
# Nearly every C++ source of mmcv's ops starts with
# #include "pytorch_cpp_helper.hpp", which pulls in all of torch/extension.h:
# parsing it is most of each compile. The first compile of a .cpp file builds
# a precompiled header of pytorch_cpp_helper.hpp with that compile's own
# flags (under a lock, once per build) into $MMATTN_PCH_DIR; every compile
# then searches that folder first, so gcc uses the precompiled header. gcc
# checks that a precompiled header fits the compile (flags, macros, first
# include) and otherwise reads the real header: a mismatch costs time, never
# correctness. Anything that is not such a compile (links, nvcc's host
# passes) runs unchanged.
#
#   MMATTN_REAL_CXX   the compiler to run (default c++)
#   MMATTN_PCH_DIR    where the precompiled header goes (required)
set -euo pipefail
real="${MMATTN_REAL_CXX:-c++}"
pch_dir="${MMATTN_PCH_DIR:?MMATTN_PCH_DIR: the folder for the precompiled header}"
header_name=pytorch_cpp_helper.hpp

source_file="" object="" header=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    *.cpp) source_file="${args[i]}" ;;
    -o) object="${args[i + 1]:-}" ;;
    -I*) dir="${args[i]#-I}"
         if [[ -z "$header" && -f "$dir/$header_name" ]]; then header="$dir/$header_name"; fi ;;
  esac
done
if [[ -z "$source_file" || -z "$object" || -z "$header" ]]; then
  exec "$real" "$@"
fi

gch="$pch_dir/$header_name.gch"
mkdir -p "$pch_dir"
(
  flock 9
  if [[ ! -e "$gch" && ! -e "$gch.failed" ]]; then
    # the same flags, less the dependency file, the source and the object
    pch_args=()
    for ((i = 0; i < ${#args[@]}; i++)); do
      case "${args[i]}" in
        -MMD|-c) ;;
        -MF|-o) i=$((i + 1)) ;;
        "$source_file") ;;
        *) pch_args+=("${args[i]}") ;;
      esac
    done
    if "$real" "${pch_args[@]}" -x c++-header "$header" -o "$gch.tmp" 2> "$pch_dir/pch.log"; then
      mv "$gch.tmp" "$gch"
    else  # compile without it; the log says why
      rm -f "$gch.tmp"; touch "$gch.failed"
    fi
  fi
) 9> "$pch_dir/.lock"
exec "$real" "-I$pch_dir" "$@"
