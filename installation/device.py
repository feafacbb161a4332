"""The torch device a run uses: `--device auto|cpu|cuda[:N]`, checked once at startup.

`auto` (the default of run_show.py and every latent-walk tool) is CUDA when torch sees a GPU,
else the CPU; one log line says which and why. An explicit `cuda` that cannot run is a startup
error naming the reason, never a fallback (STYLE.md §7).
"""

from __future__ import annotations

import argparse
import logging
import re

from installation.errors import InstallationError

log = logging.getLogger(__name__)

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
_DEVICE = re.compile(r"auto|cpu|cuda(:\d{1,2})?")
CUDA_SETUP_HINT = "LATENT_WALK_TORCH=torch bash scripts/setup.sh"  # a CUDA build of PyTorch


class DeviceError(InstallationError):
    """The requested device cannot be used; a bad option (exit 2)."""

    exit_code = 2


def parse_device(text: str) -> str:
    """argparse type: 'auto', 'cpu', 'cuda' or 'cuda:N' (lower case), else a one-line error."""
    value = text.strip().lower()
    if not _DEVICE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"expected {DEVICE_CHOICES}, got {text!r}")
    return value


def resolve_device(requested: str) -> str:
    """The device to run on (`auto` becomes cuda or cpu); logs the choice and its reason.

    Raises:
        DeviceError: an unknown name, or CUDA asked for where torch cannot use it.
    """
    device, reason = choose_device(requested)
    log.info("device: %s (%s)", device, reason)
    return device


def choose_device(requested: str) -> tuple[str, str]:
    """(the device to run on, why), without logging.

    Raises:
        DeviceError: an unknown name, or CUDA asked for where torch cannot use it.
    """
    import torch  # here: the supervisor and `osc-send` never import torch

    value = parse_device_or_raise(requested)
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
    is_cuda = torch.cuda.is_available()
    count = torch.cuda.device_count() if is_cuda else 0
    if value == "auto":
        if is_cuda:
            name = torch.cuda.get_device_name(0)
            return "cuda", f"auto: torch {torch.__version__} sees {count} GPU(s), {name}"
        return "cpu", f"auto: torch {torch.__version__} {build} sees no CUDA device"
    if value.startswith("cuda"):
        if not is_cuda:
            hint = "" if torch.version.cuda else f"; install a CUDA PyTorch: {CUDA_SETUP_HINT}"
            raise DeviceError(f"--device {value}: no CUDA device (torch {torch.__version__} "
                              f"{build}){hint}; --device cpu or auto runs on the CPU")  # fmt: skip
        index = int(value.partition(":")[2] or 0)
        if index >= count:
            raise DeviceError(f"--device {value}: torch sees {count} GPU(s) (cuda:0..cuda:"
                              f"{count - 1})")  # fmt: skip
        return value, f"asked; {torch.cuda.get_device_name(index)}"
    return value, "asked"


def parse_device_or_raise(text: str) -> str:
    """parse_device for callers outside argparse: DeviceError instead of ArgumentTypeError."""
    try:
        return parse_device(text)
    except argparse.ArgumentTypeError as err:
        raise DeviceError(f"--device: {err}") from None
