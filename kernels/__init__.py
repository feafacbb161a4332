"""Custom ops of StyleGAN2/3 (spec section 4): upfirdn2d, bias_act, filtered_lrelu.

Each op checks its arguments and dispatches through `kernels.backend`: "reference" (the literal
definition), "torch" (exact fast PyTorch, the default) or "cuda" (arrives with the kernel issue).
"""

from kernels.backend import Backend, current, reason, select, use_backend
from kernels.bias_act import bias_act
from kernels.filtered_lrelu import filtered_lrelu
from kernels.upfirdn2d import (
    channel_operand,
    downsample2d,
    filter2d,
    setup_filter,
    upfirdn2d,
    upsample2d,
)

__all__ = [
    "Backend",
    "bias_act",
    "channel_operand",
    "current",
    "downsample2d",
    "filter2d",
    "filtered_lrelu",
    "reason",
    "select",
    "setup_filter",
    "upfirdn2d",
    "upsample2d",
    "use_backend",
]
