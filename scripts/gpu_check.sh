#!/usr/bin/env bash
# The one-call GPU check, for whoever is first lent a GPU machine. That machine has PyTorch
# with CUDA, nvcc and a driver but reaches no package index, so it runs in two halves:
#
#   bash scripts/gpu_check.sh prepare        # here: wheels of the other packages -> .gpu_wheels/
#   bash scripts/gpu_check.sh run [FILE]     # there: install them, run the checks, write FILE
#   bash scripts/gpu_check.sh run --quick    # the same with kernels.py --quick (tiny networks)
#
# prepare downloads, for the GPU machine's Python (3.12 unless --python X.Y), the wheels of the
# project's requirements that machine lacks (not torch: it has its own CUDA build; see
# scripts/gpu_check.py for the packages it is known to hold, --have to change them) and checks
# the folder is complete for an offline install. Carry .gpu_wheels (about 15 MB) to the machine.
# run makes a venv that sees python3's own packages (torch among them), installs the wheels
# offline, then runs tests/gpu, benchmarks/kernels.py --device cuda and 20 s headless CUDA runs
# of the demo, a 256 px StyleGAN2 and a StyleGAN3-T network; FILE (default $OUT/gpu_check.json,
# else ./gpu_check.json) gets every result as it comes, with the logs beside it (7 files), so a
# call stopped at its time limit still brings back what was done. Meant to fit one 10-minute
# call: tests/gpu at most 4 min, the kernels benchmark about 2 min, the three runs 1-2 min.
set -euo pipefail
cd "$(dirname "$0")/.."
wheels="${GPU_CHECK_WHEELS:-.gpu_wheels}"  # the wheelhouse (an absolute path or one in the repo)

case "${1:-}" in
  prepare)
    shift
    python=.venv/bin/python
    [[ -x "$python" ]] || python=python3
    # pip's notes about index folders without the package are noise here
    "$python" scripts/gpu_check.py download --dir "$wheels" "$@" \
      2> >(grep -v "^WARNING: Location .* is ignored" >&2)
    ;;
  run)
    shift
    out="${OUT:-.}/gpu_check.json"
    if [[ $# -gt 0 && "$1" != --* ]]; then out="$1"; shift; fi
    mkdir -p "$(dirname "$out")"
    venv=/tmp/latent-walk-gpu-venv
    [[ -x "$venv/bin/python" ]] || python3 -m venv --system-site-packages "$venv"
    # python3 may itself be a venv (its packages are not "system" ones): a .pth shows them
    python3 -c "import site, sysconfig; print(sysconfig.get_paths()['purelib']); \
print(sysconfig.get_paths()['platlib'])" >"$("$venv/bin/python" -c \
      "import sysconfig; print(sysconfig.get_paths()['purelib'])")/gpu-check-host.pth"
    mapfile -t requirements < <(python3 scripts/gpu_check.py requirements)
    pip_log="$(dirname "$out")/pip.log"
    echo "gpu_check: installing from $wheels (offline): ${requirements[*]}"
    if ! "$venv/bin/python" -m pip install --no-index --find-links "$wheels" \
        "${requirements[@]}" >"$pip_log" 2>&1; then
      tail -n 5 "$pip_log"
      echo "gpu_check: the offline install stopped (above; all of it in $pip_log);" \
        "installing the carried wheels alone and going on"
      "$venv/bin/python" -m pip install --no-index --no-deps "$wheels"/*.whl >>"$pip_log" 2>&1 || true
    fi
    "$venv/bin/python" scripts/gpu_check.py run --out "$out" --pip-log "$pip_log" "$@"
    ;;
  *)
    echo "usage: bash scripts/gpu_check.sh prepare [--python X.Y] [--have LIST]" \
      "| run [FILE] [--quick] [--seconds S] [--kernels-budget-s S]" >&2
    exit 2
    ;;
esac
