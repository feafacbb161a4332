"""Kernel benchmarks: filtered_lrelu on CPU, every op per backend and whole generators on a GPU.

Modes (--mode; the default is `flrelu` on CPU, `all` on CUDA or with --quick):
- flrelu: filtered_lrelu `_reference` against `_fast` ("torch" backend) on SG3-256 layer shapes
  (spec 3.6 T-256 and R-256 tables), median ms per call and the speedup.
- ops: every bias_act / upfirdn2d / filtered_lrelu call that one synthesis pass of SG2 (config-f
  channels), SG3-T and SG3-R makes, recorded from the real networks (exact and fast precision),
  deduplicated and timed per kernels backend ("cuda", "torch", "reference") side by side in one
  run, with the cuda result's error against the reference.
- generators: frames/s of whole random-init networks at 256/512/1024 px, batch 1 and 8, exact
  (float32) and fast (float16 layers on CUDA, as NVIDIA runs them), each with and without CUDA
  graph capture of the synthesis call. On CUDA each network runs in its own subprocess.

    python benchmarks/kernels.py --device cuda --append-results   # all of it, < 10 min on an H100
    python benchmarks/kernels.py --device cuda --quick            # tiny sizes on a GPU (~1 min)
    python benchmarks/kernels.py --device cpu --quick             # tiny sizes (the smoke test)
    python benchmarks/kernels.py --config T --batch 1 --repeats 10 --fast-only   # CPU flrelu

Times are medians after warm-up (CUDA: CUDA events on the current stream; CPU: wall clock).
--append-results appends the markdown tables, under a line naming the date, device, torch, CUDA
and driver versions, to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import inspect
import json
import math
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import kernels  # noqa: E402
from installation.models import Generator, random_init  # noqa: E402
from installation.models.spec import MappingSpec, NetworkSpec, SG2Spec  # noqa: E402
from installation.models.stylegan3 import design_synthesis  # noqa: E402

flrelu = importlib.import_module("kernels.filtered_lrelu")
ufd = importlib.import_module("kernels.upfirdn2d")
bias_act_module = importlib.import_module("kernels.bias_act")

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BACKENDS = ("cuda", "torch", "reference")
NETS = ("sg2", "sg3t", "sg3r")
RESOLUTIONS = (256, 512, 1024)
QUICK_RESOLUTION = {"sg2": 32, "sg3t": 16, "sg3r": 16}
WARMUP = 3
GENERATOR_TIMED_S = 4.0  # timed-run budget per generator configuration (fewer repeats if slow)
SUBPROCESS_GRACE_S = 120  # a network subprocess may run this long past the budget

# ------------------------------------------------------------------------------------------------
# flrelu mode (CPU): spec 3.6 output sizes and channels of L0..L14 at 256 px

SIZES_256 = [36, 36, 36, 52, 52, 84, 84, 148, 148, 148, 276, 276, 276, 256, 256]
CHANNELS = {
    "T": [512, 512, 512, 512, 512, 512, 512, 362, 256, 181, 128, 91, 64, 64, 3],
    "R": [1024, 1024, 1024, 1024, 1024, 1024, 1024, 724, 512, 362, 256, 181, 128, 128, 3],
}
NUM_CRITICAL = 2


@dataclass(frozen=True)
class Layer:
    """One filtered_lrelu call of a synthesis layer."""

    name: str
    channels: int
    in_size: int
    up: int
    down: int
    fu_taps: int
    fd_shape: tuple[int, ...]
    padding: tuple[int, int, int, int]
    is_torgb: bool


def sg3_layers(config: str) -> list[Layer]:
    """The 15 filtered_lrelu calls of SG3-T/R-256 (spec 3.6 padding rule)."""
    k = 3 if config == "T" else 1
    layers = []
    for i, (out_size, channels) in enumerate(zip(SIZES_256, CHANNELS[config], strict=True)):
        in_size = SIZES_256[max(i - 1, 0)]
        is_torgb = i == len(SIZES_256) - 1
        kk = 1 if is_torgb else k
        up = 1 if is_torgb else (4 if out_size > in_size else 2)
        down = 1 if is_torgb else 2
        fu_taps = 6 * up if up > 1 else 1
        fd_taps = 6 * down if down > 1 else 1
        is_critical = i >= len(SIZES_256) - 1 - NUM_CRITICAL
        radial = config == "R" and not is_critical and not is_torgb
        total = (out_size - 1) * down + 1 - (in_size + kk - 1) * up + fu_taps + fd_taps - 2
        lo = (total + up) // 2
        pad = (lo, total - lo, lo, total - lo)
        fd_shape = (fd_taps, fd_taps) if radial else (fd_taps,)
        name = f"L{i}_{out_size}_{channels}"
        layers.append(
            Layer(name, channels, in_size + kk - 1, up, down, fu_taps, fd_shape, pad, is_torgb)
        )
    return layers


def median_ms(fn, repeats: int) -> float:
    """Median wall time of fn() in ms after three warm-up calls (allocator and oneDNN caches)."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def bench_layer(layer: Layer, batch: int, repeats: int, fast_only: bool) -> tuple[float, float]:
    """(reference ms, fast ms) for one layer; reference is nan with fast_only."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn([batch, layer.channels, layer.in_size, layer.in_size], generator=gen)
    b = torch.randn([layer.channels], generator=gen)
    fu = torch.rand([layer.fu_taps], generator=gen) if layer.fu_taps > 1 else None
    fd = torch.rand(layer.fd_shape, generator=gen) if layer.fd_shape[0] > 1 else None
    gain, slope = (1.0, 1.0) if layer.is_torgb else (math.sqrt(2), 0.2)
    args = (x, fu, fd, b, (layer.up,) * 2, (layer.down,) * 2, layer.padding, gain, slope, 256.0)
    fast = median_ms(lambda: flrelu._fast(*args, False), repeats)
    if fast_only:
        return math.nan, fast
    ref = median_ms(lambda: flrelu._reference(*args, False), repeats)
    return ref, fast


def run_flrelu(args: argparse.Namespace) -> None:
    """The CPU filtered_lrelu table (reference vs fast per SG3-256 layer)."""
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, fp32")
    header = f"{'layer':<18}{'C':>5}{'in':>5}{'up/dn':>7}{'fd':>7}{'ref ms':>11}{'fast ms':>10}"
    print(header + f"{'x':>7}")
    with torch.inference_mode():
        for config in args.config:
            total_ref = total_fast = 0.0
            for i, layer in enumerate(sg3_layers(config)):
                if args.layers and str(i) not in args.layers:
                    continue
                ref, fast = bench_layer(layer, args.batch, args.repeats, args.fast_only)
                total_ref += ref
                total_fast += fast
                fd = "x".join(map(str, layer.fd_shape))
                print(
                    f"{config + '-256 ' + layer.name:<18}{layer.channels:>5}{layer.in_size:>5}"
                    f"{f'{layer.up}/{layer.down}':>7}{fd:>7}{ref:>11.1f}{fast:>10.1f}"
                    f"{ref / fast:>7.1f}",
                    flush=True,
                )
            print(
                f"{config + '-256 total':<18}{'':>24}{total_ref:>11.1f}{total_fast:>10.1f}"
                f"{total_ref / total_fast:>7.1f}",
                flush=True,
            )


# ------------------------------------------------------------------------------------------------
# Timing and networks


def time_ms(fn: Callable[[], Any], repeats: int, device: str, warmup: int = WARMUP) -> float:
    """Median ms of fn() after warm-up: CUDA events on the current stream, else wall clock."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, repeats)):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def network_spec(net: str, res: int, quick: bool) -> NetworkSpec:
    """SG2 config-f channels or a published SG3-T/R config (spec 3.8) at res px; tiny if quick."""
    w_dim = 32 if quick else 512
    if net == "sg2":
        resolutions = [2**i for i in range(2, res.bit_length())]
        base, cmax = (512, 32) if quick else (32768, 512)
        synthesis = SG2Spec(
            img_resolution=res, img_channels=3, w_dim=w_dim, num_ws=2 * len(resolutions),
            architecture="skip", channels=tuple(min(base // r, cmax) for r in resolutions),
            fp16_resolutions=tuple(resolutions[-4:]), conv_clamp=256,
        )  # fmt: skip
        layers, arch = 8, "stylegan2"
    else:
        radial = net == "sg3r"
        base = (16384 if res <= 256 else 32768) * (2 if radial else 1)
        base, cmax = (256, 16) if quick else (base, 1024 if radial else 512)
        synthesis = design_synthesis(
            w_dim=w_dim, img_resolution=res, channel_base=base, channel_max=cmax,
            conv_kernel=1 if radial else 3, use_radial_filters=radial,
        )  # fmt: skip
        layers, arch = 2, "stylegan3-r" if radial else "stylegan3-t"
    mapping = MappingSpec(
        z_dim=w_dim, c_dim=0, w_dim=w_dim, num_ws=synthesis.num_ws, num_layers=layers,
        embed_features=0, layer_features=w_dim,
    )  # fmt: skip
    return NetworkSpec(architecture=arch, mapping=mapping, synthesis=synthesis)


def build_network(net: str, res: int, quick: bool, device: str) -> Generator:
    """Random weights as installation/models/random_init.py, calibrated on `device` (fast)."""
    G = Generator(network_spec(net, res, quick))
    # random_init calibrates SG3 magnitudes on the CPU (minutes at 1024 px): do it on the device
    with mock.patch.object(random_init, "calibrate_magnitudes", lambda *a, **k: None):
        random_init.initialize_random(G, seed=0)
    G = G.to(device).eval()
    if G.is_stylegan3:
        calibrate_on_device(G, device)
    return G


@torch.no_grad()
def calibrate_on_device(G: Generator, device: str, samples: int = 4) -> None:
    """random_init.calibrate_magnitudes with its inputs on the network's device."""
    syn = G.synthesis
    z = torch.randn(samples, G.z_dim, generator=torch.Generator().manual_seed(1)).to(device)
    ws = G.mapping(z, None).unbind(dim=1)
    x = syn.input(ws[0])
    for name, w in zip(syn.layer_names, ws[1:], strict=True):
        layer = getattr(syn, name)
        layer.magnitude_ema.fill_(float(x.square().mean()))
        x = layer(x, w, torch.float32)


# ------------------------------------------------------------------------------------------------
# ops mode: record the op calls of one synthesis pass, replay them per backend


@dataclass(frozen=True)
class TensorMeta:
    """A recorded tensor argument: shape, dtype, layout (values kept for small ones: filters)."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    is_channels_last: bool


SMALL_NUMEL = 4096  # tensors up to this size (filters, biases) are replayed with their values


@dataclass
class OpCall:
    """One distinct op call: op name, bound arguments (tensors as TensorMeta), calls per frame."""

    net: str
    precision: str
    op: str
    arguments: tuple[tuple[str, Any], ...]
    small: dict[str, torch.Tensor]
    count: int = 1

    def describe(self) -> str:
        """Short text of the call: x shape and dtype, then the non-default scalar arguments."""
        args = dict(self.arguments)
        x = args["x"]
        dtype = str(x.dtype).removeprefix("torch.")
        cl = " CL" if x.is_channels_last else ""
        parts = [f"{'x'.join(map(str, x.shape))} {dtype}{cl}"]
        for name, value in self.arguments:
            if name == "x" or value is None:
                continue
            if isinstance(value, TensorMeta):
                parts.append(f"{name} {'x'.join(map(str, value.shape))}")
            elif isinstance(value, float):
                parts.append(f"{name} {value:.3g}")
            else:
                parts.append(f"{name} {value}")
        return ", ".join(parts)


def _freeze(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        cl = value.ndim == 4 and value.is_contiguous(memory_format=torch.channels_last)
        return TensorMeta(tuple(value.shape), value.dtype, cl and not value.is_contiguous())
    if isinstance(value, list):
        return tuple(value)
    return value


@contextmanager
def recording(calls: dict, net: str, precision: str) -> Iterator[None]:
    """Record every bias_act / upfirdn2d / filtered_lrelu call made inside into `calls`."""

    def recorder(op: str, original: Callable) -> Callable:
        signature = inspect.signature(original)

        def record(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            frozen = tuple((k, _freeze(v)) for k, v in bound.arguments.items())
            key = (net, precision, op, frozen)
            if key in calls:
                calls[key].count += 1
            else:
                small = {
                    k: v.detach().clone()
                    for k, v in bound.arguments.items()
                    if isinstance(v, torch.Tensor) and v.numel() <= SMALL_NUMEL and k != "x"
                }
                calls[key] = OpCall(net, precision, op, frozen, small)
            return original(*args, **kwargs)

        return record

    flrelu_recorder = recorder("filtered_lrelu", flrelu.filtered_lrelu)
    with (
        mock.patch.object(kernels, "bias_act", recorder("bias_act", kernels.bias_act)),
        mock.patch.object(kernels, "filtered_lrelu", flrelu_recorder),
        mock.patch.object(ufd, "_dispatch", recorder("upfirdn2d", ufd._dispatch)),
    ):
        yield


def record_calls(net: str, res: int, quick: bool, device: str) -> list[OpCall]:
    """The distinct op calls of one synthesis pass (batch 1) in exact and fast precision."""
    G = build_network(net, res, quick, device)
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(2)).to(device)
    calls: dict = {}
    with torch.inference_mode():
        ws = G.mapping(z)
        for precision in ("exact", "fast"):
            G.set_precision(precision)
            with recording(calls, f"{net}-{res}", precision):
                G.synthesis(ws)
    return list(calls.values())


def materialise(call: OpCall, device: str) -> dict[str, Any]:
    """Keyword arguments for the call on `device`: recorded small tensors, random big ones."""
    gen = torch.Generator().manual_seed(3)
    out = {}
    for name, value in call.arguments:
        if name in call.small:
            out[name] = call.small[name].to(device)
        elif isinstance(value, TensorMeta):
            t = torch.randn(value.shape, generator=gen).to(device=device, dtype=value.dtype)
            out[name] = (
                t.contiguous(memory_format=torch.channels_last) if value.is_channels_last else t
            )
        else:
            out[name] = value
    return out


OP_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {  # replay through the public entry points
    "bias_act": bias_act_module.bias_act,
    "upfirdn2d": lambda x, f, up, down, pad, flip_filter, gain: ufd.upfirdn2d(
        x, f, up, down, pad, flip_filter, gain
    ),
    "filtered_lrelu": flrelu.filtered_lrelu,
}


@dataclass
class OpResult:
    """Times (ms, None when the backend is unavailable) and the cuda error of one op call."""

    call: OpCall
    ms: dict[str, float | None]
    cuda_error: float | None
    note: str = ""


def bench_call(
    call: OpCall, device: str, repeats: int, warmup: int, backends: list[str]
) -> OpResult:
    """Time one recorded call on each backend; the cuda output is compared with the reference."""
    kwargs = materialise(call, device)
    fn = OP_FUNCTIONS[call.op]
    ms: dict[str, float | None] = {}
    outputs: dict[str, torch.Tensor] = {}
    notes = []
    for name in backends:
        try:
            with torch.inference_mode(), kernels.use_backend(name):
                ms[name] = time_ms(lambda: fn(**kwargs), repeats, device, warmup)
                outputs[name] = fn(**kwargs)
        except Exception as e:  # a backend that can't run this call: report, keep going
            ms[name] = None
            notes.append(f"{name}: {type(e).__name__}: {str(e).splitlines()[0][:120]}")
    error = None
    if "cuda" in outputs and "reference" in outputs:
        ref = outputs["reference"].double()
        scale = ref.abs().max().item() or 1.0
        error = (outputs["cuda"].double() - ref).abs().max().item() / scale
    return OpResult(call, ms, error, "; ".join(notes))


def run_ops(args: argparse.Namespace, backends: list[str]) -> list[OpResult]:
    """Record and replay the op calls of each network; print progress."""
    results = []
    for net in args.nets:
        res = QUICK_RESOLUTION[net] if args.quick else args.ops_resolution
        calls = record_calls(net, res, args.quick, args.device)
        print(f"ops: {net}-{res}: {len(calls)} distinct calls", file=sys.stderr, flush=True)
        for call in calls:
            results.append(bench_call(call, args.device, args.repeats, args.warmup, backends))
    return results


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _frame_totals(results: list[OpResult], backends: list[str]) -> dict[tuple, tuple]:
    """{(net, precision, op): (calls per frame, {backend: ms per frame or None})}."""
    totals: dict[tuple, tuple] = {}
    for r in results:
        key = (r.call.net, r.call.precision, r.call.op)
        count, ms = totals.get(key, (0, dict.fromkeys(backends, 0.0)))
        for b in backends:
            t = r.ms.get(b)
            ms[b] = None if t is None or ms[b] is None else ms[b] + t * r.call.count
        totals[key] = (count + r.call.count, ms)
    return totals


def ops_tables(results: list[OpResult], backends: list[str]) -> str:
    """Markdown: per (net, precision, op) totals per frame, then one row per distinct call."""
    cols = " | ".join(f"{b} ms" for b in backends)
    lines = [f"| net | precision | op | calls/frame | {cols} | torch/cuda |"]
    lines.append("|" + "---|" * (5 + len(backends)))
    for (net, precision, op), (count, ms) in _frame_totals(results, backends).items():
        ratio = ms["torch"] / ms["cuda"] if ms.get("cuda") and ms.get("torch") else None
        cells = " | ".join(_ms(ms[b]) for b in backends)
        lines.append(f"| {net} | {precision} | {op} | {count} | {cells} | {_ratio(ratio)} |")
    lines += ["", f"| net | precision | op | call | n | {cols} | cuda err | note |"]
    lines.append("|" + "---|" * (7 + len(backends)))
    for r in results:
        cells = " | ".join(_ms(r.ms.get(b)) for b in backends)
        err = "n/a" if r.cuda_error is None else f"{r.cuda_error:.1e}"
        lines.append(
            f"| {r.call.net} | {r.call.precision} | {r.call.op} | {r.call.describe()} | "
            f"{r.call.count} | {cells} | {err} | {r.note} |"
        )
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


# ------------------------------------------------------------------------------------------------
# generators mode


def synthesis_runner(G: Generator, ws: torch.Tensor, use_graph: bool) -> Callable[[], Any]:
    """A zero-argument synthesis call, eager or as a captured CUDA graph (static ws buffer)."""
    if not use_graph:
        return lambda: G.synthesis(ws)
    static_ws = ws.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up outside the graph (allocator, cuDNN, kernel loads)
        for _ in range(WARMUP):
            G.synthesis(static_ws)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        G.synthesis(static_ws)
    return graph.replay


def bench_generator(G: Generator, batch: int, precision: str, use_graph: bool, args) -> dict:
    """One row: ms per call and frames/s, or a note saying why there is no number."""
    row = {"batch": batch, "precision": precision, "graphs": use_graph, "ms": None, "note": ""}
    if use_graph and args.device != "cuda":
        row["note"] = "no CUDA graphs on CPU"
        return row
    G.set_precision(precision)
    z = torch.randn(batch, G.z_dim, generator=torch.Generator().manual_seed(4)).to(args.device)
    try:
        with torch.inference_mode():
            ws = G.mapping(z)
            fn = synthesis_runner(G, ws, use_graph)
            first = time_ms(fn, 1, args.device, warmup=args.warmup)
            repeats = min(args.repeats, int(GENERATOR_TIMED_S * 1e3 / max(first, 1e-3)))
            row["ms"] = first if repeats < 2 else time_ms(fn, repeats, args.device, warmup=0)
            row["repeats"] = max(1, repeats)
    except Exception as e:  # capture (or the run) failed: say why, keep going
        what = "graph capture failed" if use_graph else "failed"
        row["note"] = f"{what}: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
        print(f"{row['note']}", file=sys.stderr, flush=True)
    if args.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
    return row


def generator_rows(net: str, res: int, args) -> list[dict]:
    """All (batch, precision, graphs) rows of one network, measured in this process.

    Each row is also printed as it is measured: `ROW {json}` on stdout in a --one-network
    subprocess (the parent keeps the rows even if it has to stop the subprocess), else on stderr.
    """
    G = build_network(net, res, args.quick, args.device)
    rows = []
    for batch in args.batches:
        for precision in ("exact", "fast"):
            for use_graph in (False, True):
                if time.monotonic() > args.deadline:
                    row = {"batch": batch, "precision": precision, "graphs": use_graph}
                    row["note"] = f"skipped: past --budget-s {args.budget_s:.0f}"
                else:
                    row = bench_generator(G, batch, precision, use_graph, args)
                row.update(net=net, res=res, backend=kernels.current())
                rows.append(row)
                out = sys.stdout if args.one_network else sys.stderr
                print(f"ROW {json.dumps(row)}", file=out, flush=True)
    return rows


def generator_rows_isolated(net: str, res: int, args) -> list[dict]:
    """generator_rows in a subprocess (its own CUDA context and memory); failures as notes."""
    remaining_s = args.deadline - time.monotonic()
    cmd = [sys.executable, __file__, "--device", args.device, "--mode", "generators",
           "--backend", args.backend, "--repeats", str(args.repeats),
           "--batches", *map(str, args.batches), "--budget-s", f"{remaining_s:.0f}",
           "--one-network", f"{net}:{res}", *(["--quick"] if args.quick else [])]  # fmt: skip
    timeout_s = remaining_s + SUBPROCESS_GRACE_S
    note = ""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        stdout, stderr = proc.stdout, proc.stderr
        if proc.returncode != 0:
            tail = stderr.strip().splitlines()[-1:] or ["no output"]
            note = f"subprocess failed: {tail[0][:200]}"
    except subprocess.TimeoutExpired as e:
        stdout, stderr = _text(e.stdout), _text(e.stderr)
        note = f"subprocess stopped after {timeout_s:.0f} s (--budget-s)"
    sys.stderr.write(stderr)
    rows = [json.loads(line[4:]) for line in stdout.splitlines() if line.startswith("ROW ")]
    if note:
        rows.append({"net": net, "res": res, "note": note})
    return rows


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def run_generators(args: argparse.Namespace) -> list[dict]:
    """Rows for every network and resolution (small first) until the time budget runs out."""
    rows = []
    for res in [None] if args.quick else args.resolutions:
        for net in args.nets:
            r = QUICK_RESOLUTION[net] if res is None else res
            if time.monotonic() > args.deadline:
                rows.append(
                    {"net": net, "res": r, "note": f"skipped: past --budget-s {args.budget_s:.0f}"}
                )
            elif args.device == "cuda":
                rows += generator_rows_isolated(net, r, args)
            else:
                rows += generator_rows(net, r, args)
    return rows


def generator_table(rows: list[dict]) -> str:
    """Markdown table of the generator rows."""
    lines = [
        "| net | res | batch | precision | CUDA graph | backend | ms/call | frames/s | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ms = r.get("ms")
        fps = "n/a" if ms is None else f"{r['batch'] / ms * 1e3:.2f}"
        graphs = {True: "yes", False: "no"}.get(r.get("graphs"), "")
        lines.append(
            f"| {r['net']} | {r['res']} | {r.get('batch', '')} | {r.get('precision', '')} | "
            f"{graphs} | {r.get('backend', '')} | {_ms(ms)} | {fps} | {r.get('note', '')} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Header, results file, main


def environment_line(device: str) -> str:
    """Date, device name, torch / CUDA / driver versions, kernels backend."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if device == "cuda":
        name = torch.cuda.get_device_name()
        extra = f"CUDA {torch.version.cuda}, driver {driver_version()}"
    else:
        name = platform.processor() or platform.machine()
        extra = f"{torch.get_num_threads()} threads"
    backend = kernels.current()
    return f"{now} · {name} · torch {torch.__version__} · {extra} · kernels backend {backend}"


def driver_version() -> str:
    """The NVIDIA driver version from nvidia-smi, or 'unknown'."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
        return out.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--mode", choices=["flrelu", "ops", "generators", "all"], default=None)
    p.add_argument("--quick", action="store_true", help="tiny networks (CPU smoke test)")
    p.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "cuda", "torch", "reference"],
        help="kernels backend of the generators mode (default: cuda if it loads)",
    )
    p.add_argument("--nets", nargs="+", default=list(NETS), choices=NETS)
    p.add_argument("--resolutions", nargs="+", type=int, default=list(RESOLUTIONS))
    p.add_argument("--ops-resolution", type=int, default=256)
    p.add_argument("--batches", nargs="+", type=int, default=None)
    p.add_argument("--budget-s", type=float, default=450.0, help="stop starting generator runs")
    p.add_argument("--append-results", action="store_true")
    p.add_argument("--results-file", type=Path, default=RESULTS)
    p.add_argument("--one-network", default=None, help=argparse.SUPPRESS)
    # flrelu mode (the original CPU benchmark)
    p.add_argument("--config", nargs="+", default=["T", "R"], choices=["T", "R"])
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--fast-only", action="store_true")
    p.add_argument("--layers", nargs="*", help="flrelu: layer indices to run (default all)")
    args = p.parse_args(argv)
    args.deadline = time.monotonic() + args.budget_s  # generators stop starting work after it
    if args.mode is None:
        args.mode = "all" if args.device == "cuda" or args.quick else "flrelu"
    if args.batches is None:
        args.batches = [1, 2] if args.quick else [1, 8]
    if args.quick:
        args.repeats = 1
    args.warmup = 1 if args.quick else WARMUP
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the selected mode(s), print the tables, optionally append them to RESULTS.md."""
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: torch sees no CUDA device")
    if args.mode == "flrelu":
        run_flrelu(args)
        return
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest algorithms
    if args.quick:
        torch.set_num_threads(1)  # tiny tensors: threads only add contention
    kernels.select(args.backend)  # the generators' backend (ops mode switches per call)
    if args.one_network:  # a subprocess of generator_rows_isolated: ROW lines on stdout
        net, res = args.one_network.split(":")
        generator_rows(net, int(res), args)
        return
    sections = []
    if args.mode in ("ops", "all"):
        backends = [b for b in BACKENDS if args.device == "cuda" or b != "cuda"]
        sections.append("### ops\n\n" + ops_tables(run_ops(args, backends), backends))
        if args.device == "cuda":
            torch.cuda.empty_cache()  # give the generator subprocesses the memory back
    if args.mode in ("generators", "all"):
        sections.append("### generators\n\n" + generator_table(run_generators(args)))
    command = " ".join(
        ["python benchmarks/kernels.py", *(argv if argv is not None else sys.argv[1:])]
    )
    header = f"## {environment_line(args.device)}\n\n`{command}`"
    text = header + "\n\n" + "\n\n".join(sections) + "\n"
    print(text)
    if args.append_results:
        with args.results_file.open("a") as out:
            out.write("\n" + text)
        print(f"appended to {args.results_file}", file=sys.stderr)


if __name__ == "__main__":
    main()
