#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine: system GL libraries, a virtualenv in .venv,
# PyTorch, and this package. Safe to run again (it skips what is already there).
#   bash scripts/setup.sh          # the app (CPU PyTorch)
#   bash scripts/setup.sh --dev    # the app plus the test tools (pytest, ruff, scipy, selenium
#                                  # with Debian's chromium) and NVRTC
#   LATENT_WALK_TORCH='torch' bash scripts/setup.sh   # e.g. a CUDA build of PyTorch on a GPU box
# It says how big each download is; pip shows PyTorch's progress (a bar on a terminal).
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
system=(libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri)
# --dev: a real browser for the web remote's test (tests/e2e/test_http_browser.py)
[[ "$extras" == *dev* ]] && system+=(chromium chromium-driver)
# --dev: real MIDI ports for the MIDI tests (tests/jack_server.py): a JACK server with the dummy
# backend (no sound card, no ALSA sequencer needed); libjack for python-rtmidi's JACK API
[[ "$extras" == *dev* ]] && system+=(jackd2 libjack-jackd2-0)
# --dev: PortAudio for the live sound tests (tests/e2e/test_audio_live.py, on the JACK server)
[[ "$extras" == *dev* ]] && system+=(libportaudio2)
for pkg in "${system[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing system packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. virtualenv with PyTorch first (a CPU build unless told otherwise), then this package.
# pip shows torch's download (its size and a progress bar on a terminal); the package's own
# install is quiet, its log kept in .venv/setup-pip.log and printed only when it fails.
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
pip_log=.venv/setup-pip.log
cpu_index=https://download.pytorch.org/whl/cpu
# installed torch: none, cpu or cuda; a CUDA build asked for replaces a CPU one
have_torch=$(.venv/bin/python -c "import torch; print('cuda' if torch.version.cuda else 'cpu')" \
  2>/dev/null || echo none)
if [[ "$have_torch" == cpu && -n "${LATENT_WALK_TORCH:-}" && "$LATENT_WALK_TORCH" != *cpu* ]]; then
  echo "setup: replacing the CPU build of PyTorch with $LATENT_WALK_TORCH"
  .venv/bin/python -m pip uninstall -q -y torch
  have_torch=none
fi
if [[ "$have_torch" == none ]]; then
  if [[ -n "${LATENT_WALK_TORCH:-}" ]]; then
    torch_args=("$LATENT_WALK_TORCH")
    case "$LATENT_WALK_TORCH" in
      *cpu*) size="a CPU build: about 200 MB" ;;
      *) size="a CUDA build on Linux: about 900 MB, plus 2-3 GB of NVIDIA libraries" ;;
    esac
  elif .venv/bin/python -c "import urllib.request as u; u.urlopen('$cpu_index/', timeout=5)" \
      >/dev/null 2>&1; then  # PyTorch's own index for CPU builds is reachable
    torch_args=(torch==2.13.0 --index-url "$cpu_index")
    size="the CPU build: about 190 MB, plus 15 MB of its dependencies"
  else  # the configured index (a CPU build where one is provided, PyPI's CUDA build otherwise)
    torch_args=(torch==2.13.0)
    size="about 190 MB for a CPU build; PyPI's Linux build is CUDA: about 900 MB + 2-3 GB"
  fi
  echo "setup: installing PyTorch (${torch_args[*]}): $size; a few minutes"
  .venv/bin/python -m pip install --progress-bar on "${torch_args[@]}"
fi
package_mb=80  # numpy, pygame, moderngl, imageio-ffmpeg (with ffmpeg), pillow, ...
[[ "$extras" == *gpu* ]] && package_mb=$((package_mb + 66))  # cuda-bindings + NVRTC
[[ "$extras" == *dev* ]] && package_mb=$((package_mb + 130))  # scipy, ruff, pytest, selenium, ray
echo "setup: installing latent-walk$extras and its dependencies (about $package_mb MB)"
if ! .venv/bin/python -m pip install -q -e ".$extras" >"$pip_log" 2>&1; then
  tail -n 30 "$pip_log" >&2
  echo "setup: installing latent-walk failed (the whole log: $pip_log)" >&2
  exit 1
fi
echo "setup: done. Play the demo show: .venv/bin/python run_show.py (or: source .venv/bin/activate)"
