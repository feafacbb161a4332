"""StyleGAN2 synthesis network, clean-room from spec §3.3-§3.5 and Karras et al. 2020.

Reads top to bottom: modulated convolution (the definition, then the form the CPU runs), the
three layer types, the block, the network.
Parameter and buffer names equal NVIDIA's, so a loaded file maps onto this module one to one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import kernels
from kernels import winograd

from .mapping import FullyConnectedLayer
from .spec import SG2Spec, layer_dtype

RESAMPLE_TAPS = (1, 3, 3, 1)  # spec §3.3: the [1,3,3,1] binomial, stored as its 4x4 outer product
# The CPU path's first elementwise pass after a conv (SG2: demodulation and bias; SG3: the bias)
# writes into the conv's output, which the layer owns, instead of a new tensor: a big new tensor
# costs its page faults, several times the pass itself. The same values; benchmarks/ladder.py
# turns it off to measure it.
IN_PLACE_EPILOGUE = True
# The style scale of a layer's input is done in place where the caller says the input is scratch
# (a block's conv1 input: conv0's output; SG3's layers in the network's loop), for the same
# reason; benchmarks/ladder.py turns it off to measure it.
IN_PLACE_STYLES = True
# Layers with few outputs (ToRGB) convolve a batch sample by sample with modulated weights
# instead of scaling its activations (see has_few_outputs); benchmarks/ladder.py turns it off.
PER_SAMPLE_WEIGHTS = True


def make_resample_filter() -> torch.Tensor:
    """The 4x4 resampling filter f2 = outer([1,3,3,1], [1,3,3,1]) / 64 (sum 1)."""
    taps = np.asarray(RESAMPLE_TAPS, dtype=np.float64)
    f = np.outer(taps, taps)
    return torch.from_numpy(f / f.sum()).to(torch.float32)


def modulated_conv2d(
    x: torch.Tensor,  # [N, I, H, W]
    weight: torch.Tensor,  # [O, I, k, k]
    styles: torch.Tensor,  # [N, I]
    *,
    demodulate: bool = True,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
) -> torch.Tensor:
    """Modulated (and optionally demodulated) convolution (spec §3.4): the definition.

    One convolution with per-sample weights (groups = N). With up=2 the result equals
    zero-insertion, the 4x4 FIR (gain 4) and a 3x3 true convolution; it is computed as a
    stride-2 transposed convolution followed by the FIR with padding (1, 1).
    `padding` applies to up=1 only (the 3x3 layers pad 1). The CPU runs `modulated_conv2d_cpu`,
    the same result in a form that suits its convolution kernels.
    Returns:
        [N, O, H*up, W*up] in x's dtype.
    """
    n, in_ch, h, w = x.shape
    out_ch, _, kh, kw = weight.shape
    # modulate and demodulate in float32 whatever x's dtype (spec §3.4 steps 2-3); bf16/fp16 would
    # be slower on CPUs and needs the overflow pre-normalisation of step 1 on GPUs
    weight = weight.to(torch.float32)
    styles = styles.to(torch.float32)
    w_mod = weight.unsqueeze(0) * styles.reshape(n, 1, in_ch, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        w_mod = w_mod * demodulation(weight, styles).reshape(n, out_ch, 1, 1, 1)
    w_mod = w_mod.to(x.dtype).reshape(n * out_ch, in_ch, kh, kw)
    x = x.reshape(1, n * in_ch, h, w)
    if up == 1:
        y = F.conv2d(x, w_mod, padding=padding, groups=n)
    else:
        # the transposed conv wants [N*I, O, k, k]
        w_t = w_mod.reshape(n, out_ch, in_ch, kh, kw).transpose(1, 2)
        w_t = w_t.reshape(n * in_ch, out_ch, kh, kw)
        y = F.conv_transpose2d(x, w_t, stride=2, groups=n)  # [.., 2H+1, 2W+1]
        # FIR (gain up^2) over the (2H+1)-sample result; padding 1 on each side gives 2H samples
        y = kernels.upfirdn2d(y, resample_filter, padding=1, gain=4)
    return y.reshape(n, out_ch, *y.shape[2:])


def demodulation(weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """1 / ||W s|| per sample and output channel (spec §3.4 step 3): float32 [N, O]."""
    return demodulation_from_squares(tap_squares(weight), styles)


def tap_squares(weight: torch.Tensor) -> torch.Tensor:
    """Sum over the kernel taps of W^2: float32 [O, I]."""
    return weight.to(torch.float32).square().sum(dim=[2, 3])


def demodulation_from_squares(squares: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """`demodulation` from `tap_squares(weight)`."""
    # sum over i, kh, kw of (W s)^2 = s^2 @ (sum over kh, kw of W^2)^T
    return (styles.to(torch.float32).square() @ squares.t() + 1e-8).rsqrt()


def modulated_conv2d_cpu(
    x: torch.Tensor,  # [N, I, H, W]
    weight: torch.Tensor,  # [O, I, k, k] the layer's weight in x's dtype, channels-last
    styles: torch.Tensor,  # [N, I] float32
    *,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    x_is_scratch: bool = False,
    winograd: torch.Tensor | None = None,
) -> torch.Tensor:
    """`modulated_conv2d` without demodulation, in the form CPUs run fast (spec §3.4, non-fused).

    Scaling x by the styles and convolving with the shared weight equals the per-sample weights
    of the definition, and lets oneDNN keep one prepared weight (grouped convolutions with
    per-sample weights are slow on CPUs). The demodulation, a per-(sample, channel) scale of the
    output, is left to the caller to fold into the next elementwise pass.
    up=2: the stride-2 transposed conv is computed as its four output phases, each a plain conv
    with a part of the 3x3 kernel; oneDNN's transposed convs run several times slower.
    x_is_scratch: the caller no longer needs x; it may be scaled in place (IN_PLACE_STYLES).
    winograd: up=1 only: `kernels.winograd.transform_weight(weight)`, to convolve by Winograd.
    """
    in_place = x_is_scratch and IN_PLACE_STYLES
    if winograd is not None:
        return winograd_modulated_conv(x, winograd, styles, padding=padding, in_place=in_place)
    if up == 1 and has_few_outputs(x, weight):
        return per_sample_convs(x, weight, styles, padding=padding)
    x, weight = modulate(x, weight, styles, in_place=in_place)
    if up == 1:
        return F.conv2d(x, weight, padding=padding)
    y = transposed_conv_by_phases(x, weight)  # [N, O, 2H+1, 2W+1]
    # FIR (gain up^2) over the (2H+1)-sample result; padding 1 on each side gives 2H samples
    return kernels.upfirdn2d(y, resample_filter, padding=1, gain=4)


def transposed_conv_by_phases(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """conv_transpose2d(x, weight^T, stride=2) for a 3x3 weight [O, I, 3, 3], as 4 plain convs.

    Along each axis the output 2a is x[a] w[0] + x[a-1] w[2] (a = 0..H: a 2-tap correlation
    with (w[2], w[0]) on x padded by one) and 2a+1 is x[a] w[1] (a = 0..H-1): 9 taps in all,
    as many multiplications as the transposed conv.
    """
    n, _, h, w = x.shape
    out_ch = weight.shape[0]
    shape = [n, out_ch, 2 * h + 1, 2 * w + 1]
    y = torch.empty(shape, dtype=x.dtype, device=x.device, memory_format=torch.channels_last)
    even, odd = slice(None, None, 2), slice(1, None, 2)
    for rows, cols, pad_rows, pad_cols in ((even, even, 1, 1), (even, odd, 1, 0),
                                           (odd, even, 0, 1), (odd, odd, 0, 0)):  # fmt: skip
        kernel = weight[:, :, rows, cols].flip([2, 3])  # taps (w[2], w[0]) or (w[1],)
        y[:, :, rows, cols] = F.conv2d(x, kernel, padding=(pad_rows, pad_cols))
    return y


def modulate(
    x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, in_place: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale x's input channels by the styles, or, for one sample when the weight is the smaller
    tensor, the weight's (the same product; fewer bytes to touch). Returns (x, weight).

    in_place: x may be overwritten (the caller no longer needs it) and is, when it is scaled.
    """
    n, in_ch, h, w = x.shape
    if n == 1 and weight.numel() // in_ch < h * w:
        scaled = weight * styles.to(weight.dtype).reshape(1, in_ch, 1, 1)
        return x, scaled.contiguous(memory_format=torch.channels_last)
    scale = kernels.channel_operand(styles.to(x.dtype), x)
    return (x.mul_(scale) if in_place else x * scale), weight


def has_few_outputs(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether a batch convolves faster with per-sample weights (`per_sample_convs`) than by
    scaling x: PER_SAMPLE_WEIGHTS on, and at most a quarter as many outputs as inputs (ToRGB:
    3 outputs), so the outputs' copy into one batch is small beside a pass over x."""
    return PER_SAMPLE_WEIGHTS and x.shape[0] > 1 and 4 * weight.shape[0] <= weight.shape[1]


def per_sample_convs(
    x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, padding: int
) -> torch.Tensor:
    """conv2d of each sample with its own modulated weight (weight * styles[i] on the inputs),
    gathered into one batch [N, O, H', W'] (x's memory format: the convs and the concatenation
    keep it): the same product as scaling x."""
    in_ch = weight.shape[1]
    scaled = weight.unsqueeze(0) * styles.to(weight.dtype).reshape(-1, 1, in_ch, 1, 1)
    ys = [F.conv2d(x[i : i + 1], scaled[i], padding=padding) for i in range(x.shape[0])]
    return torch.cat(ys)


def winograd_modulated_conv(
    x: torch.Tensor, u: torch.Tensor, styles: torch.Tensor, *, padding: int, in_place: bool
) -> torch.Tensor:
    """conv2d(x with its input channels scaled by styles [N, I], weight) by Winograd, for
    u = kernels.winograd.transform_weight(weight) [36, I, O]. One sample scales U's rows where U
    is the smaller tensor (as `modulate` scales the weight), else x (in place if in_place)."""
    n, in_ch, h, w = x.shape
    if n == 1 and u.numel() // in_ch < h * w:
        return winograd.conv3x3(x, u, padding, in_scale=styles[0])
    scale = kernels.channel_operand(styles.to(x.dtype), x)
    return winograd.conv3x3(x.mul_(scale) if in_place else x * scale, u, padding)


class WinogradWeight:
    """A 3x3 layer's weight as `kernels.winograd` uses it, or None where Winograd doesn't pay."""

    def __init__(self, prepare: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.cached = PreparedWeight(lambda weight: winograd.transform_weight(prepare(weight)))

    def get(self, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
        """U for conv2d(x, prepare(weight)), or None (conv directly)."""
        if not winograd.pays_off(x, weight):
            return None
        return self.cached.get(weight, torch.float32)


def uses_cpu_path(x: torch.Tensor) -> bool:
    """Whether a layer runs its CPU form (not on CUDA, and not the 'reference' kernels backend)."""
    return not x.is_cuda and kernels.current() != "reference"


class PreparedWeight:
    """A parameter as a fast path uses it (cast, re-laid), rebuilt only when the parameter changes.

    Keyed on the parameter object, its storage, its version counter (bumped by in-place writes
    such as load_state_dict), device and the dtype asked for, so a replaced or edited weight is
    seen.
    """

    def __init__(self, prepare: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.prepare = prepare
        self.source: torch.Tensor | None = None
        self.key: tuple | None = None
        self.value: torch.Tensor | None = None

    def get(self, param: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """The prepared tensor in dtype (channels-last when 4D)."""
        key = (param.data_ptr(), param._version, param.device, dtype)
        if param is not self.source or key != self.key:
            value = self.prepare(param.detach()).to(dtype)
            layout = torch.channels_last if value.ndim == 4 else torch.contiguous_format
            self.value = value.contiguous(memory_format=layout)
            self.source, self.key = param, key
        return self.value


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally up 2) + noise + bias + lrelu + clamp (spec §3.3)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        *,
        up: int = 1,
        use_noise: bool = True,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.up = resolution, up
        self.use_noise, self.conv_clamp = use_noise, conv_clamp
        self.act_gain = math.sqrt(2)  # lrelu default gain (spec §4.2)
        self.affine = FullyConnectedLayer(w_dim, in_channels)
        self.weight = nn.Parameter(
            torch.zeros(out_channels, in_channels, 3, 3), requires_grad=False
        )
        self.register_buffer("resample_filter", make_resample_filter())
        if use_noise:
            self.register_buffer("noise_const", torch.zeros(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(out_channels), requires_grad=False)
        self.cpu_weight = PreparedWeight(lambda weight: weight.to(torch.float32))
        self.weight_squares = PreparedWeight(tap_squares)
        self.winograd_weight = WinogradWeight(lambda weight: weight)

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "const",
        gain: float = 1.0,
        noise_scale: float = 1.0,
        x_is_scratch: bool = False,
    ) -> torch.Tensor:
        """x_is_scratch: the caller no longer needs x (the CPU path may scale it in place)."""
        styles = self.affine(w)  # [N, I]
        noise = self.noise(x.shape[0], noise_mode, noise_scale, x.device)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        if uses_cpu_path(x):
            return self.forward_cpu(x, styles, noise, self.act_gain * gain, clamp, x_is_scratch)
        x = modulated_conv2d(
            x, self.weight, styles, up=self.up, padding=1, resample_filter=self.resample_filter
        )
        if noise is not None:
            x = x.add_(noise.to(x.dtype))
        return kernels.bias_act(
            x, self.bias.to(x.dtype), act="lrelu", gain=self.act_gain * gain, clamp=clamp
        )

    def noise(
        self, n: int, noise_mode: str, noise_scale: float, device: torch.device
    ) -> torch.Tensor | None:
        """The noise input times its strength: float32 [N or 1, 1, R, R], or None for none."""
        if not self.use_noise or noise_mode == "none" or noise_scale == 0:
            return None
        if noise_mode == "random":
            noise = torch.randn(n, 1, self.resolution, self.resolution, device=device)
        else:
            noise = self.noise_const.reshape(1, 1, self.resolution, self.resolution)
        return noise * (self.noise_strength * noise_scale)

    def forward_cpu(
        self,
        x: torch.Tensor,
        styles: torch.Tensor,
        noise: torch.Tensor | None,
        act_gain: float,
        clamp: float | None,
        x_is_scratch: bool = False,
    ) -> torch.Tensor:
        """`forward` on the CPU: demodulation, noise, bias and gain in one pass after the conv."""
        u = self.winograd_weight.get(self.weight, x) if self.up == 1 else None
        y = modulated_conv2d_cpu(
            x, self.cpu_weight.get(self.weight, x.dtype), styles, up=self.up, padding=1,
            resample_filter=self.resample_filter, x_is_scratch=x_is_scratch, winograd=u,
        )  # fmt: skip
        # lrelu(v) * g = lrelu(v * g) for g > 0: y d g + (noise + b) g, then lrelu and clamp
        squares = self.weight_squares.get(self.weight, torch.float32)
        scale = demodulation_from_squares(squares, styles) * act_gain  # [N, O]
        shift = kernels.channel_operand((self.bias * act_gain).to(y.dtype), y)
        scale = kernels.channel_operand(scale.to(y.dtype), y)
        y = torch.addcmul(shift, y, scale, out=y if IN_PLACE_EPILOGUE else None)
        if noise is not None:
            y = y.add_((noise * act_gain).to(y.dtype))
        y = F.leaky_relu_(y, 0.2)
        return y if clamp is None else y.clamp_(-clamp, clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv without demodulation, bias, clamp (spec §3.3)."""

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels)
        self.weight = nn.Parameter(
            torch.zeros(out_channels, in_channels, 1, 1), requires_grad=False
        )
        self.bias = nn.Parameter(torch.zeros(out_channels), requires_grad=False)
        self.weight_gain = 1 / math.sqrt(in_channels)
        self.cpu_weight = PreparedWeight(lambda weight: weight.to(torch.float32))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        if uses_cpu_path(x):
            x = modulated_conv2d_cpu(x, self.cpu_weight.get(self.weight, x.dtype), styles)
        else:
            x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return kernels.bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)


class Conv2dLayer(nn.Module):
    """The resnet skip: 1x1 conv without bias, then up 2 with the FIR (spec §3.3)."""

    def __init__(self, in_channels: int, out_channels: int, *, up: int = 2) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.up = in_channels, out_channels, up
        self.weight = nn.Parameter(
            torch.zeros(out_channels, in_channels, 1, 1), requires_grad=False
        )
        self.register_buffer("resample_filter", make_resample_filter())
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        x = F.conv2d(x, w)
        x = kernels.upsample2d(x, self.resample_filter, up=self.up)
        return x * gain if gain != 1 else x


class SynthesisBlock(nn.Module):
    """One resolution of the StyleGAN2 synthesis network."""

    def __init__(self, spec: SG2Spec, resolution: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.in_channels = in_channels
        self.architecture = spec.architecture
        self.is_last = resolution == spec.img_resolution
        self.use_fp16 = resolution in spec.fp16_resolutions
        self.register_buffer("resample_filter", make_resample_filter())
        clamp = spec.conv_clamp
        if in_channels == 0:
            self.const = nn.Parameter(
                torch.zeros(out_channels, resolution, resolution), requires_grad=False
            )
        else:
            self.conv0 = SynthesisLayer(
                in_channels, out_channels, spec.w_dim, resolution,
                up=2, use_noise=spec.use_noise, conv_clamp=clamp,
            )  # fmt: skip
        self.conv1 = SynthesisLayer(
            out_channels, out_channels, spec.w_dim, resolution,
            use_noise=spec.use_noise, conv_clamp=clamp,
        )  # fmt: skip
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 0
        if self.is_last or spec.architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, spec.img_channels, spec.w_dim, conv_clamp=clamp)
            self.num_torgb = 1
        if in_channels != 0 and spec.architecture == "resnet":
            self.skip = Conv2dLayer(in_channels, out_channels, up=2)

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,  # [N, num_conv + num_torgb, w_dim]
        noise_mode: str,
        dtype: torch.dtype,
        memory_format: torch.memory_format,
        noise_scale: float = 1.0,
        x_is_scratch: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x_is_scratch: the caller no longer needs x (the network's loop: the block before's
        output), so conv0 may scale it in place where the architecture doesn't reuse it."""
        w_iter = iter(ws.unbind(dim=1))
        noise = {"noise_mode": noise_mode, "noise_scale": noise_scale}
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = x.contiguous(memory_format=memory_format)
            x = self.conv1(x, next(w_iter), x_is_scratch=True, **noise)
        elif self.architecture == "resnet":
            x = x.to(dtype).contiguous(memory_format=memory_format)
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w_iter), **noise)
            x = self.conv1(x, next(w_iter), gain=math.sqrt(0.5), x_is_scratch=True, **noise)
            x = y.add_(x)
        else:
            x = x.to(dtype).contiguous(memory_format=memory_format)
            x = self.conv0(x, next(w_iter), x_is_scratch=x_is_scratch, **noise)
            x = self.conv1(x, next(w_iter), x_is_scratch=True, **noise)
        if img is not None:
            img = kernels.upsample2d(img, self.resample_filter, up=2)
        if self.num_torgb:
            y = self.torgb(x, next(w_iter)).to(torch.float32)
            img = y if img is None else img.add_(y)
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> img [N, C, R, R] float32 (spec §3.3)."""

    def __init__(self, spec: SG2Spec) -> None:
        super().__init__()
        self.spec = spec
        self.w_dim, self.num_ws = spec.w_dim, spec.num_ws
        self.img_resolution, self.img_channels = spec.img_resolution, spec.img_channels
        self.block_resolutions = spec.block_resolutions
        self.compute_dtype: torch.dtype | None = None  # None = exact fp32; set by set_precision
        self.memory_format = torch.contiguous_format
        in_ch = 0
        for res, out_ch in zip(self.block_resolutions, spec.channels, strict=True):
            setattr(self, f"b{res}", SynthesisBlock(spec, res, in_ch, out_ch))
            in_ch = out_ch

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: str = "const",
        noise_scale: float = 1.0,
        **_ignored: object,
    ) -> torch.Tensor:
        """Synthesise images from ws [N, num_ws, w_dim].

        Args:
            noise_mode: 'const' (the file's fixed noise), 'random' or 'none'.
            noise_scale: multiplies every layer's stored noise strength (1 = as trained).
        """
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be const, random or none, got {noise_mode!r}")
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            block_ws = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            dtype = layer_dtype(self.compute_dtype, block.use_fp16, ws.device)
            x, img = block(
                x, img, block_ws, noise_mode, dtype, self.memory_format,
                noise_scale=noise_scale, x_is_scratch=True,
            )  # fmt: skip
            w_idx += block.num_conv
        return img.contiguous()
