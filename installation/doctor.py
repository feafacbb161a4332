"""`latent-walk doctor`: check the gallery PC before a show and say what to fix.

Each check is a small function returning a CheckResult (name, status, detail, advice). They
import what they check inside the function, so a missing package is a FAIL line, never an
ImportError, and the command starts without torch when only the CLI is asked for.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import queue
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from installation.device import CUDA_SETUP_HINT
from installation.settings import DEFAULT_SHOW_PATH, AppSettings

log = logging.getLogger(__name__)

Status = Literal["OK", "WARN", "FAIL"]

SETUP_HINT = "bash scripts/setup.sh"
DEMO_MODEL_PATH = DEFAULT_SHOW_PATH.parent.parent / "assets" / "demo" / "demo-sg3.safetensors"
NAME_WIDTH = 15  # report column of check names ("imageio-ffmpeg", "display-EGL", "model x")
DEMO_TIMED_FRAMES = 4  # frames timed for the CPU estimate (after one warm-up frame)
# Log disk thresholds: a week of rotating logs (10 MiB x 6) and status files fits well below
# the WARN line; under the FAIL line the logs may stop mid-show.
DISK_WARN_BYTES = 1_000_000_000
DISK_FAIL_BYTES = 100_000_000
# the show's --log-file decides where logs go; doctor checks the folder given as --log-dir
MOVE_LOGS = "put the show's --log-file on another disk (check it with doctor --log-dir DIR)"
# (distribution name, import name) of what the app needs besides torch
PACKAGES = (
    ("numpy", "numpy"),
    ("pygame", "pygame"),
    ("moderngl", "moderngl"),
    ("python-osc", "pythonosc"),
    ("imageio-ffmpeg", "imageio_ffmpeg"),
)


@dataclass(frozen=True)
class CheckResult:
    """One line of the report: what was checked, how it went, what was found, what to do."""

    name: str
    status: Status
    detail: str
    advice: str = ""  # one line for WARN and FAIL; empty for OK


def ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "OK", detail)


# -- python and packages ---------------------------------------------------------------------


def check_torch() -> CheckResult:
    """torch's version and build (CPU or CUDA <version>)."""
    try:
        torch = importlib.import_module("torch")
    except ImportError as err:
        return CheckResult("torch", "FAIL", f"not importable: {err}", SETUP_HINT)
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU"
    return ok("torch", f"{torch.__version__} ({build} build)")


def check_package(dist_name: str, import_name: str) -> CheckResult:
    """A package imports; its installed version."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner in the --json output
    try:
        importlib.import_module(import_name)
    except ImportError as err:
        return CheckResult(dist_name, "FAIL", f"not importable: {err}", SETUP_HINT)
    try:
        version = importlib.metadata.version(dist_name)
    except importlib.metadata.PackageNotFoundError:
        version = "version unknown"
    return ok(dist_name, version)


def check_ffmpeg() -> CheckResult:
    """imageio-ffmpeg finds an ffmpeg binary (for --out video)."""
    try:
        imageio_ffmpeg = importlib.import_module("imageio_ffmpeg")
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as err:  # RuntimeError: "No ffmpeg exe could be found"
        return CheckResult("ffmpeg", "FAIL", str(err), SETUP_HINT)
    return ok("ffmpeg", exe)


# -- GPU and kernels ---------------------------------------------------------------------------


def demo_cpu_fps(model_path: Path = DEMO_MODEL_PATH) -> float:
    """Frames/s of the demo model on the CPU, one frame at a time (a short measurement)."""
    import torch

    from installation.models import load_generator
    from installation.models.latents import seed_z

    G = load_generator(model_path, device="cpu", precision="fast")
    with torch.inference_mode():
        ws = G.mapping(seed_z(0, G.z_dim), None, 0.8)
        G.synthesis(ws, noise_mode="const")  # warm-up
        started = time.perf_counter()
        for _ in range(DEMO_TIMED_FRAMES):
            G.synthesis(ws, noise_mode="const")
        elapsed_s = time.perf_counter() - started
    return DEMO_TIMED_FRAMES / elapsed_s


def cpu_conditions() -> str:
    """What a CPU figure depends on: torch threads, OpenMP wait policy, the load average."""
    import torch

    wait = os.environ.get("OMP_WAIT_POLICY", "spin").lower()
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{torch.get_num_threads()} torch threads, OpenMP wait {wait}{load}"


def check_gpu(measure_fps: Callable[[], float] = demo_cpu_fps) -> CheckResult:
    """A CUDA device: name and memory; none -> WARN with the demo model's measured CPU rate."""
    try:
        import torch
    except ImportError:
        return CheckResult("gpu", "FAIL", "torch is missing, cannot look for a GPU", SETUP_HINT)
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        count = torch.cuda.device_count()
        return ok("gpu", f"{props.name}, {props.total_memory / 2**30:.1f} GiB ({count} device(s))")
    try:
        fps = measure_fps()
        figure = (
            f"the demo model renders {fps:.2g} frames/s here (256 px, fast precision, one frame "
            f"at a time, {cpu_conditions()})"
        )
    except Exception as err:  # the figure is a courtesy; the show check reports model faults
        figure = f"could not time the demo model ({type(err).__name__}: {err})"
    if torch.version.cuda:  # a CUDA torch that sees no GPU: the driver or the card
        build = f"CUDA {torch.version.cuda} build"
        advice = "torch has CUDA but sees no GPU: check the NVIDIA driver with `nvidia-smi`"
    else:
        build = "CPU-only torch build"
        advice = (
            "fine for the demo; for trained models use a PC with an NVIDIA GPU and driver "
            f"(`nvidia-smi` lists it), then `{CUDA_SETUP_HINT}`"
        )
    return CheckResult("gpu", "WARN", f"CPU only ({build}, no CUDA device): {figure}", advice)


def check_kernels() -> CheckResult:
    """The compiled CUDA kernels: loaded, or why not (WARN only when a GPU is there)."""
    try:
        import torch

        from kernels import _compile
    except ImportError as err:
        return CheckResult("kernels", "FAIL", f"not importable: {err}", SETUP_HINT)
    compiled, reason = _compile.load()
    if compiled is not None:
        return ok("kernels", f"cuda kernels loaded ({reason})")
    if torch.cuda.is_available():
        return CheckResult(
            "kernels", "WARN", f"GPU present but the kernels can't load: {reason}",
            "shows run on the torch path (slower); the kernels' run-time compiler (cuda-bindings"
            f" and NVRTC, the gpu extra) comes with `{CUDA_SETUP_HINT}`",
        )  # fmt: skip
    return ok("kernels", f"torch path ({reason})")


# -- display -----------------------------------------------------------------------------------


def check_display(environ: dict[str, str] | None = None) -> CheckResult:
    """A screen SDL can open a window on (X, Wayland or an explicit SDL_VIDEODRIVER)."""
    try:
        from installation.display.window import has_display
    except ImportError as err:
        return CheckResult("display", "FAIL", f"not importable: {err}", SETUP_HINT)
    if has_display(environ):
        env = os.environ if environ is None else environ
        found = [f"{k}={env[k]}" for k in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
                 if env.get(k)]  # fmt: skip
        return ok("display", ", ".join(found))
    return CheckResult(
        "display", "WARN", "no display: DISPLAY and WAYLAND_DISPLAY are unset",
        "start the show from the logged-in desktop session (autostart), or run it with --headless",
    )  # fmt: skip


def check_egl() -> CheckResult:
    """An offscreen EGL OpenGL context (what --headless and the tests use): its renderer."""
    try:
        from installation.display.offscreen import MESA_PACKAGES, OffscreenPresenter
        from installation.display.presenter import DisplayError
    except ImportError as err:
        return CheckResult("display-EGL", "FAIL", f"not importable: {err}", SETUP_HINT)
    try:
        presenter = OffscreenPresenter(size_px=(16, 16))
    except DisplayError as err:
        return CheckResult("display-EGL", "FAIL", str(err), f"sudo apt-get install {MESA_PACKAGES}")
    try:
        info = presenter.ctx.info
        return ok("display-EGL", f"renderer={info['GL_RENDERER']} gl={info['GL_VERSION']}")
    finally:
        presenter.close()


# -- show, models, OSC, disk ---------------------------------------------------------------------


def check_show(path: Path) -> tuple[CheckResult, Any]:
    """The show file loads: (result, Show or None). FAIL carries the ShowError (file:line)."""
    from installation.errors import ShowError
    from installation.show.load import load_show

    try:
        show = load_show(path)
    except ShowError as err:
        advice = f"fix the file, then `latent-walk validate {path}`"
        return CheckResult("show", "FAIL", str(err), advice), None
    detail = (
        f"{path}: {len(show.sections)} sections, {len(show.models)} model(s), "
        f"one pass {show.total_s():g} s"
    )
    return ok("show", detail), show


def check_model(name: str, path: Path) -> CheckResult:
    """A show's model file exists and loads on the CPU: its architecture and resolution."""
    from installation.errors import ModelLoadError
    from installation.models import load_generator

    label = f"model {name}"
    if not Path(path).is_file():
        advice = f"fix models.{name}.path in the show"
        return CheckResult(label, "FAIL", f"{path}: no such file", advice)
    try:
        G = load_generator(path, device="cpu")
    except ModelLoadError as err:
        advice = f"check it with `latent-walk inspect {path}`; use a StyleGAN2/3 .pkl"
        return CheckResult(label, "FAIL", str(err), advice)
    return ok(label, f"{path}: {G.architecture} {G.img_resolution} px, num_ws={G.num_ws}")


def check_osc(settings: AppSettings, show: Any) -> CheckResult:
    """The OSC port (--osc-port, else the show's show.osc) can be bound; bound, then closed."""
    from installation.app import osc_options
    from installation.control.osc import OscControl
    from installation.errors import ControlError

    options = osc_options(settings, show)
    if options is None:
        return ok("osc", "OSC off (no --osc-port and no show.osc.port)")
    host, port = options.host, options.port
    try:
        control = OscControl(
            host, port, queue.SimpleQueue(), dict, allow=options.allow,
            feedback_target=options.feedback_target, heartbeat_s=options.heartbeat_s,
        )  # fmt: skip
    except ControlError as err:
        is_taken = "is taken" in str(err)
        advice = (
            f"another program listens on UDP {port} (`ss -ulpn 'sport = :{port}'`): stop it, "
            "or pass another --osc-port"
            if is_taken
            else "pass --osc-host with an address of this machine (0.0.0.0: every interface)"
        )
        return CheckResult("osc", "FAIL", str(err), advice)
    control.stop()
    return ok("osc", f"UDP {host}:{port} is free (allow={','.join(options.allow)})")


def disk_result(free_bytes: int, where: Path) -> CheckResult:
    """Free space for the logs: WARN below 1 GB, FAIL below 100 MB."""
    detail = f"{free_bytes / 1e9:.1f} GB free at {where}"
    if free_bytes < DISK_FAIL_BYTES:
        advice = f"free space there, or {MOVE_LOGS}"
        return CheckResult("disk", "FAIL", detail, advice)
    if free_bytes < DISK_WARN_BYTES:
        advice = f"free space there (logs rotate at 10 MiB x 6), or {MOVE_LOGS}"
        return CheckResult("disk", "WARN", detail, advice)
    return ok("disk", detail)


def check_disk(log_dir: Path) -> CheckResult:
    """Free space where the logs go (the nearest existing folder when it does not exist yet)."""
    where = Path(log_dir).resolve()
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free_bytes = shutil.disk_usage(where).free
    except OSError as err:
        advice = "put the show's --log-file in a writable folder and pass it as --log-dir"
        return CheckResult("disk", "FAIL", f"{where}: {err}", advice)
    return disk_result(free_bytes, where)


# -- all together --------------------------------------------------------------------------------


def each_check(settings: AppSettings, log_dir: Path) -> Iterator[CheckResult]:
    """Every check, in report order, each run when its result is asked for."""
    yield check_torch()
    for dist, module in PACKAGES:
        yield check_package(dist, module)
    yield check_ffmpeg()
    yield check_gpu()
    yield check_kernels()
    yield check_display()
    yield check_egl()
    show_result, show = check_show(settings.show_path)
    yield show_result
    if show is not None:
        for entry in show.models:
            yield check_model(entry.name, entry.path)
    yield check_osc(settings, show)
    yield check_disk(log_dir)


def run_checks(
    settings: AppSettings, log_dir: Path, on_result: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Every check, in report order; `on_result` sees each result as soon as it is known."""
    results = []
    for result in each_check(settings, log_dir):
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results


def format_result(r: CheckResult) -> str:
    """A check's line, then its detail's further lines and an `-> advice` line, indented.

    A detail of several lines (a ShowError lists every problem) continues indented.
    """
    width = max(NAME_WIDTH, len(r.name))
    first, *more = r.detail.splitlines() or [""]
    lines = [f"{r.status:<4} {r.name:<{width}}  {first}"]
    lines += [" " * (width + 7) + line for line in more]
    if r.advice:
        lines.append(f"     {'':<{width}}  -> {r.advice}")
    return "\n".join(lines)


def format_summary(results: list[CheckResult]) -> str:
    """The last line: how many checks FAILed, WARNed and passed."""
    failed = sum(r.status == "FAIL" for r in results)
    warned = sum(r.status == "WARN" for r in results)
    return f"{failed} FAIL, {warned} WARN, {len(results) - failed - warned} OK"


def format_report(results: list[CheckResult]) -> str:
    """One line per check, plus an indented `-> advice` line under each WARN and FAIL."""
    return "\n".join([*(format_result(r) for r in results), format_summary(results)])


def results_json(results: list[CheckResult]) -> list[dict[str, str]]:
    """The results as plain dicts (for --json)."""
    return [asdict(r) for r in results]


def exit_code(results: list[CheckResult]) -> int:
    """0 when nothing FAILed, 1 otherwise."""
    return 1 if any(r.status == "FAIL" for r in results) else 0
