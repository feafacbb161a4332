"""The machine line every benchmark prints: CPU model, logical CPUs and the ISA flags that decide
which CPU kernels torch/oneDNN can use (AVX-512 bf16, AMX). Figures are compared with it beside
them, since the CPUs of these machines differ."""

from __future__ import annotations

import os
import platform
from pathlib import Path

ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")


def cpu_description(cpuinfo_path: Path = Path("/proc/cpuinfo")) -> str:
    """One line: '<model>, <N> logical CPUs, isa: <flags of ISA_FLAGS it has>'."""
    model, flags = platform.processor() or platform.machine() or "unknown CPU", set()
    try:
        for line in cpuinfo_path.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    isa = " ".join(flag for flag in ISA_FLAGS if flag in flags) or "none of " + ",".join(ISA_FLAGS)
    return f"{model}, {os.cpu_count()} logical CPUs, isa: {isa}"
