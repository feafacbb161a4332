"""StyleGAN3 (alias-free) synthesis network, clean-room from spec §3.6 and Karras et al. 2021.

Reads top to bottom: the layer schedule (for building a network from hyperparameters), the
Fourier-feature input, the modulated conv, the synthesis layer, the network.
Parameter and buffer names equal NVIDIA's, so a loaded file maps onto this module one to one.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import kernels

from . import stylegan2
from .filters import lowpass_1d, radial_lowpass_2d
from .mapping import FullyConnectedLayer
from .spec import SG3InputSpec, SG3LayerSpec, SG3Spec, layer_dtype
from .stylegan2 import (
    PreparedWeight,
    demodulation_from_squares,
    modulate,
    tap_squares,
    uses_cpu_path,
)

FILTER_SIZE = 6  # taps per up/down factor (spec §3.6)
LRELU_UPSAMPLING = 2  # intermediate oversampling of the nonlinearity


def design_synthesis(
    *,
    w_dim: int,
    img_resolution: int,
    img_channels: int = 3,
    channel_base: int = 32768,
    channel_max: int = 512,
    num_layers: int = 14,
    num_critical: int = 2,
    first_cutoff: float = 2,
    first_stopband: float = 2**2.1,
    last_stopband_rel: float = 2**0.3,
    margin_size: int = 10,
    output_scale: float = 0.25,
    num_fp16_res: int = 4,
    conv_kernel: int = 3,
    use_radial_filters: bool = False,
    conv_clamp: float | None = 256,
    lrelu_upsampling: int = LRELU_UPSAMPLING,
) -> SG3Spec:
    """Compute the per-layer schedule of spec §3.6 from the network hyperparameters.

    The defaults are NVIDIA's StyleGAN3-T; `lrelu_upsampling=1` (no oversampled nonlinearity) is
    a cheaper, aliasing variant that only our own networks use.
    """
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels

    layers = []
    for idx in range(num_layers + 1):
        prev = max(idx - 1, 0)
        is_torgb = idx == num_layers
        is_critical = idx >= num_layers - num_critical
        in_sr, out_sr = float(rates[prev]), float(rates[idx])
        tmp_sr = max(in_sr, out_sr) * (1 if is_torgb else lrelu_upsampling)
        up, down = int(np.rint(tmp_sr / in_sr)), int(np.rint(tmp_sr / out_sr))
        up_taps = FILTER_SIZE * up if up > 1 and not is_torgb else 1
        down_taps = FILTER_SIZE * down if down > 1 and not is_torgb else 1
        k = 1 if is_torgb else conv_kernel
        in_size, out_size = int(sizes[prev]), int(sizes[idx])
        total = (out_size - 1) * down + 1 - (in_size + k - 1) * up + up_taps + down_taps - 2
        lo = (total + up) // 2
        hi = total - lo
        out_ch = int(channels[idx])
        layers.append(
            SG3LayerSpec(
                name=f"L{idx}_{out_size}_{out_ch}",
                is_torgb=is_torgb,
                is_critically_sampled=is_critical,
                use_fp16=bool(rates[idx] * 2**num_fp16_res > img_resolution),
                in_channels=int(channels[prev]),
                out_channels=out_ch,
                in_size=(in_size, in_size),
                out_size=(out_size, out_size),
                in_sampling_rate=in_sr,
                out_sampling_rate=out_sr,
                tmp_sampling_rate=tmp_sr,
                in_cutoff=float(cutoffs[prev]),
                out_cutoff=float(cutoffs[idx]),
                in_half_width=float(half_widths[prev]),
                out_half_width=float(half_widths[idx]),
                conv_kernel=k,
                conv_clamp=conv_clamp,
                up_factor=up,
                up_taps=up_taps,
                down_factor=down,
                down_taps=down_taps,
                down_radial=use_radial_filters and not is_critical,
                padding=(lo, hi, lo, hi),
            )
        )
    size0 = int(sizes[0])
    return SG3Spec(
        img_resolution=img_resolution,
        img_channels=img_channels,
        w_dim=w_dim,
        num_ws=num_layers + 2,
        input=SG3InputSpec(
            channels=int(channels[0]),
            size=(size0, size0),
            sampling_rate=float(rates[0]),
            bandwidth=float(cutoffs[0]),
        ),
        layers=tuple(layers),
        output_scale=output_scale,
    )


def design_filters(layer: SG3LayerSpec) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The layer's up and down filters as NVIDIA stores them (1D, or 2D radial), or None."""
    up = None
    if layer.up_taps > 1:
        up = lowpass_1d(
            layer.up_taps, layer.in_cutoff, layer.in_half_width * 2, layer.tmp_sampling_rate
        )
    down = None
    if layer.down_taps > 1:
        design = radial_lowpass_2d if layer.down_radial else lowpass_1d
        down = design(
            layer.down_taps, layer.out_cutoff, layer.out_half_width * 2, layer.tmp_sampling_rate
        )
    as_tensor = lambda f: None if f is None else torch.from_numpy(f).to(torch.float32)  # noqa: E731
    return as_tensor(up), as_tensor(down)


def camera_transform(
    translate: tuple[float, float] = (0, 0), rotate_deg: float = 0
) -> torch.Tensor:
    """The inverse camera matrix that goes into input.transform (spec §5.1): inv(T(x, y) R(a))."""
    a = math.radians(rotate_deg)
    m = np.array(
        [
            [math.cos(a), math.sin(a), translate[0]],
            [-math.sin(a), math.cos(a), translate[1]],
            [0, 0, 1],
        ]
    )
    return torch.from_numpy(np.linalg.inv(m)).to(torch.float32)


class SynthesisInput(nn.Module):
    """Fourier features at fixed frequencies, rotated and translated by w (spec §3.6)."""

    def __init__(self, spec: SG3InputSpec, w_dim: int) -> None:
        super().__init__()
        self.spec = spec
        self.channels, self.size = spec.channels, spec.size
        self.sampling_rate, self.bandwidth = spec.sampling_rate, spec.bandwidth
        self.weight = nn.Parameter(torch.zeros(spec.channels, spec.channels), requires_grad=False)
        self.affine = FullyConnectedLayer(w_dim, 4)
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", torch.zeros(spec.channels, 2))
        self.register_buffer("phases", torch.zeros(spec.channels))

    def forward(self, w: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        """w [N, w_dim] -> features [N, C, H, W]; `transform` [3,3]/[N,3,3] overrides the buffer."""
        n = w.shape[0]
        t = self.affine(w)  # [N, 4] = (r_c, r_s, t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        zero, one = torch.zeros_like(t[:, 0]), torch.ones_like(t[:, 0])
        rot = torch.stack(
            [t[:, 0], -t[:, 1], zero, t[:, 1], t[:, 0], zero, zero, zero, one], dim=1
        ).reshape(n, 3, 3)
        trans = torch.stack(
            [one, zero, -t[:, 2], zero, one, -t[:, 3], zero, zero, one], dim=1
        ).reshape(n, 3, 3)
        user = self.transform if transform is None else transform.to(w.device, torch.float32)
        m = rot @ trans @ user.expand(n, 3, 3)  # [N, 3, 3]

        # transform the frequencies and phases
        freqs = self.freqs.unsqueeze(0) @ m[:, :2, :2]  # [N, C, 2]
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ m[:, :2, 2:]).squeeze(2)
        amplitudes = (
            1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)
        ).clamp(0, 1)  # [N, C]

        # sample sin(2 pi (x fx + y fy + phase)) on the pixel-centre grid
        width, height = int(self.size[0]), int(self.size[1])
        xs = torch.arange(width, device=w.device, dtype=torch.float32) + 0.5 - width / 2
        ys = torch.arange(height, device=w.device, dtype=torch.float32) + 0.5 - height / 2
        xs, ys = xs / self.sampling_rate, ys / self.sampling_rate
        arg = (
            xs.reshape(1, 1, 1, width) * freqs[:, :, 0].reshape(n, -1, 1, 1)
            + ys.reshape(1, 1, height, 1) * freqs[:, :, 1].reshape(n, -1, 1, 1)
            + phases.reshape(n, -1, 1, 1)
        )  # [N, C, H, W]
        x = torch.sin(arg * (2 * math.pi)) * amplitudes.reshape(n, -1, 1, 1)

        # channel mix
        weight = self.weight / math.sqrt(self.channels)
        return torch.einsum("oc,nchw->nohw", weight, x).contiguous()


def modulated_conv2d(
    x: torch.Tensor,  # [N, I, H, W]
    weight: torch.Tensor,  # [O, I, k, k]
    styles: torch.Tensor,  # [N, I]
    *,
    demodulate: bool,
    input_gain: torch.Tensor,  # [] (1 / sqrt(magnitude_ema))
    padding: int,
) -> torch.Tensor:
    """StyleGAN3 modulated conv (spec §3.6 step 3): the definition, per-sample weights.

    The CPU runs `modulated_conv2d_cpu`, the same result in the form its kernels run fast.
    """
    n, in_ch, h, w = x.shape
    out_ch, _, kh, kw = weight.shape
    weight, styles, d = _normalise(weight, styles, demodulate)
    w_mod = weight.unsqueeze(0) * styles.reshape(n, 1, in_ch, 1, 1)  # [N, O, I, k, k]
    if d is not None:
        w_mod = w_mod * d.reshape(n, out_ch, 1, 1, 1)
    w_mod = (w_mod * input_gain).to(x.dtype).reshape(n * out_ch, in_ch, kh, kw)
    y = F.conv2d(x.reshape(1, n * in_ch, h, w), w_mod, padding=padding, groups=n)
    return y.reshape(n, out_ch, *y.shape[2:])


def _normalise(
    weight: torch.Tensor, styles: torch.Tensor, demodulate: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Float32 (weight, styles, demodulation [N, O] or None), pre-normalised when demodulating."""
    weight = weight.to(torch.float32)
    styles = styles.to(torch.float32)
    if not demodulate:
        return weight, styles, None
    # pre-normalise; cancelled by demodulation but keeps fp16 in range
    weight = normalised_weight(weight)
    styles = styles * styles.square().mean().rsqrt()
    d = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()  # [N, O]
    return weight, styles, d


def normalised_weight(weight: torch.Tensor) -> torch.Tensor:
    """weight / its RMS per output channel (float32), as demodulating layers convolve with it."""
    weight = weight.to(torch.float32)
    return weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()


def modulated_conv2d_cpu(
    x: torch.Tensor,  # [N, I, H, W]
    prepared: torch.Tensor | None,  # normalised_weight(weight) or weight (None: with winograd)
    squares: torch.Tensor | None,  # tap_squares(prepared) float32 [O, I]; None: no demodulation
    styles: torch.Tensor,  # [N, I]
    *,
    input_gain: torch.Tensor,
    padding: int,
    x_is_scratch: bool = False,
    winograd: torch.Tensor | None = None,
) -> torch.Tensor:
    """`modulated_conv2d` as CPUs run it fast: scale x by the styles, one conv with the shared
    (prepared, cached) weight, scale the output by the demodulation. The same result; oneDNN
    then keeps one weight instead of a grouped conv with fresh per-sample weights each call.
    x_is_scratch: the caller no longer needs x; it may be scaled in place.
    winograd: `kernels.winograd.transform_weight(prepared)`, to convolve by Winograd."""
    styles = styles.to(torch.float32)
    d = None
    if squares is not None:
        styles = styles * styles.square().mean().rsqrt()
        d = demodulation_from_squares(squares, styles)  # [N, O]
    in_place = x_is_scratch and stylegan2.IN_PLACE_STYLES
    if winograd is not None:
        y = stylegan2.winograd_modulated_conv(
            x, winograd, styles * input_gain, padding=padding, in_place=in_place
        )
    elif stylegan2.has_few_outputs(x, prepared):
        y = stylegan2.per_sample_convs(x, prepared, styles * input_gain, padding=padding)
    else:
        x, prepared = modulate(x, prepared, styles * input_gain, in_place=in_place)
        y = F.conv2d(x, prepared, padding=padding)
    return y if d is None else y.mul_(kernels.channel_operand(d.to(y.dtype), y))


class SynthesisLayer(nn.Module):
    """Modulated conv followed by filtered leaky ReLU with resampling (spec §3.6)."""

    def __init__(self, spec: SG3LayerSpec, w_dim: int) -> None:
        super().__init__()
        self.spec = spec
        self.is_torgb = spec.is_torgb
        self.use_fp16 = spec.use_fp16
        self.in_channels, self.out_channels = spec.in_channels, spec.out_channels
        self.conv_kernel = spec.conv_kernel
        self.up_factor, self.down_factor = spec.up_factor, spec.down_factor
        self.padding = list(spec.padding)
        self.conv_clamp = spec.conv_clamp
        self.affine = FullyConnectedLayer(w_dim, spec.in_channels)
        k = spec.conv_kernel
        self.weight = nn.Parameter(
            torch.zeros(spec.out_channels, spec.in_channels, k, k), requires_grad=False
        )
        self.bias = nn.Parameter(torch.zeros(spec.out_channels), requires_grad=False)
        self.register_buffer("magnitude_ema", torch.ones([]))
        up_filter, down_filter = design_filters(spec)
        self.register_buffer("up_filter", up_filter)
        self.register_buffer("down_filter", down_filter)
        self.weight_gain = 1 / math.sqrt(spec.in_channels * k * k)  # ToRGB style scale
        prepare = (lambda weight: weight) if spec.is_torgb else normalised_weight
        self.cpu_weight = PreparedWeight(prepare)
        self.weight_squares = PreparedWeight(lambda weight: tap_squares(prepare(weight)))
        self.winograd_weight = stylegan2.WinogradWeight(prepare)

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, dtype: torch.dtype, x_is_scratch: bool = False
    ) -> torch.Tensor:
        """x_is_scratch: the caller no longer needs x (the CPU path may scale it in place)."""
        styles = self.affine(w)  # [N, I]
        if self.is_torgb:
            styles = styles * self.weight_gain
        input_gain = self.magnitude_ema.rsqrt()
        x = x.to(dtype)
        if uses_cpu_path(x):
            u = self.winograd_weight.get(self.weight, x)
            # the direct conv's prepared copy only where it runs (no second cached copy)
            prepared = None if u is not None else self.cpu_weight.get(self.weight, dtype)
            squares = None if self.is_torgb else self.weight_squares.get(self.weight, torch.float32)
            x = modulated_conv2d_cpu(
                x, prepared, squares, styles, input_gain=input_gain,
                padding=self.conv_kernel - 1, x_is_scratch=x_is_scratch, winograd=u,
            )  # fmt: skip
            bias = self.bias.to(dtype)
            if stylegan2.IN_PLACE_EPILOGUE:  # into the conv's output, not filtered_lrelu's copy
                x, bias = x.add_(kernels.channel_operand(bias, x)), None
        else:
            x = modulated_conv2d(
                x, self.weight, styles, demodulate=not self.is_torgb, input_gain=input_gain,
                padding=self.conv_kernel - 1,
            )  # fmt: skip
            bias = self.bias.to(dtype)
        fu = None if self.up_filter is None else self.up_filter.to(dtype)
        fd = None if self.down_filter is None else self.down_filter.to(dtype)
        return kernels.filtered_lrelu(
            x,
            fu=fu,
            fd=fd,
            b=bias,
            up=self.up_factor,
            down=self.down_factor,
            padding=self.padding,
            gain=1 if self.is_torgb else math.sqrt(2),
            slope=1 if self.is_torgb else 0.2,
            clamp=self.conv_clamp,
        )


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> img [N, C, R, R] float32 (spec §3.6)."""

    def __init__(self, spec: SG3Spec) -> None:
        super().__init__()
        self.spec = spec
        self.w_dim, self.num_ws = spec.w_dim, spec.num_ws
        self.img_resolution, self.img_channels = spec.img_resolution, spec.img_channels
        self.output_scale = spec.output_scale
        self.compute_dtype: torch.dtype | None = None  # None = exact fp32; set by set_precision
        self.memory_format = torch.contiguous_format
        self.input = SynthesisInput(spec.input, spec.w_dim)
        self.layer_names = [layer.name for layer in spec.layers]
        for layer in spec.layers:
            setattr(self, layer.name, SynthesisLayer(layer, spec.w_dim))

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: str = "const",
        transform: torch.Tensor | None = None,
        **_ignored: object,
    ) -> torch.Tensor:
        """Synthesise images; noise_mode is accepted and ignored (SG3 has no noise inputs).

        Args:
            ws: [N, num_ws, w_dim].
            transform: optional [3, 3] or [N, 3, 3] inverse camera matrix for this call
                (see camera_transform); default: the `input.transform` buffer.
        """
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0], transform=transform)
        for name, w in zip(self.layer_names, ws[1:], strict=True):
            layer = getattr(self, name)
            dtype = layer_dtype(self.compute_dtype, layer.use_fp16, x.device)
            # x is this loop's own (the input features, then each layer's output): scratch
            x = layer(x.contiguous(memory_format=self.memory_format), w, dtype, x_is_scratch=True)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32).contiguous()
