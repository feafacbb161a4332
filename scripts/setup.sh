#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine: system GL libraries, a virtualenv in .venv,
# PyTorch, and this package. Safe to run again (it skips what is already there).
#   bash scripts/setup.sh          # the app (CPU PyTorch)
#   bash scripts/setup.sh --dev    # the app plus the test tools (pytest, ruff, scipy) and NVRTC
#   LATENT_WALK_TORCH='torch' bash scripts/setup.sh   # e.g. a CUDA build of PyTorch on a GPU box
set -euo pipefail
cd "$(dirname "$0")/.."

extras=()
# a CUDA PyTorch gets the run-time kernel compiler (cuda-bindings + NVRTC, the gpu extra); so
# does --dev, so the tests compile every kernel with NVRTC as a show would (no GPU needed)
if [[ "${1:-}" == "--dev" ]]; then extras+=(dev gpu)
elif [[ -n "${LATENT_WALK_TORCH:-}" && "${LATENT_WALK_TORCH}" != *cpu* ]]; then extras+=(gpu); fi
extras=$(IFS=,; [[ ${#extras[@]} -gt 0 ]] && echo "[${extras[*]}]" || true)

# 1. system libraries for OpenGL (EGL for headless, GL for windows) and venv support
need=()
for pkg in libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing system packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. virtualenv with PyTorch first (a CPU build unless told otherwise), then this package
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
torch_spec="${LATENT_WALK_TORCH:-torch==2.13.0}"
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: installing $torch_spec"
  .venv/bin/python -m pip install -q "$torch_spec" \
    || .venv/bin/python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
echo "setup: installing latent-walk$extras"
.venv/bin/python -m pip install -q -e ".$extras"
echo "setup: done (.venv/bin/python, .venv/bin/latent-walk)"
