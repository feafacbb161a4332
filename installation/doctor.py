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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from installation.settings import DEFAULT_SHOW_PATH, AppSettings

log = logging.getLogger(__name__)

Status = Literal["OK", "WARN", "FAIL"]

SETUP_HINT = "bash scripts/setup.sh"
DEMO_MODEL_PATH = DEFAULT_SHOW_PATH.parent.parent / "assets" / "demo" / "demo-sg3.safetensors"
DEMO_TIMED_FRAMES = 4  # frames timed for the CPU estimate (after one warm-up frame)
# Log disk thresholds: a week of rotating logs (10 MiB x 6) and status files fits well below
# the WARN line; under the FAIL line the logs may stop mid-show.
DISK_WARN_BYTES = 1_000_000_000
DISK_FAIL_BYTES = 100_000_000
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


def check_gpu(measure_fps: Callable[[], float] = demo_cpu_fps) -> CheckResult:
    """A CUDA device: name and memory; none -> WARN with a measured CPU frame rate."""
    try:
        import torch
    except ImportError:
        return CheckResult("gpu", "FAIL", "torch is missing, cannot look for a GPU", SETUP_HINT)
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        count = torch.cuda.device_count()
        return ok("gpu", f"{props.name}, {props.total_memory / 2**30:.1f} GiB ({count} device(s))")
    try:
        estimate = f"expect about {measure_fps():.0f} frames/s on the demo model"
    except Exception as err:  # the estimate is a courtesy; the show check reports model faults
        estimate = f"could not time the demo model ({type(err).__name__}: {err})"
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only torch build"
    return CheckResult(
        "gpu",
        "WARN",
        f"CPU only: {estimate} ({build}, no CUDA device)",
        "fine for the demo; for trained models install an NVIDIA driver and a CUDA torch "
        f"({SETUP_HINT}), then check `nvidia-smi`",
    )


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
            f"shows run on the torch path (slower); {_compile.INSTALL_HINT}",
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
    host, port = options["host"], options["port"]
    try:
        control = OscControl(commands=queue.SimpleQueue(), status=dict, **options)
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
    return ok("osc", f"UDP {host}:{port} is free (allow={','.join(options['allow'])})")


def disk_result(free_bytes: int, where: Path) -> CheckResult:
    """Free space for the logs: WARN below 1 GB, FAIL below 100 MB."""
    detail = f"{free_bytes / 1e9:.1f} GB free at {where}"
    if free_bytes < DISK_FAIL_BYTES:
        advice = "free space there or pass --log-dir on another disk"
        return CheckResult("disk", "FAIL", detail, advice)
    if free_bytes < DISK_WARN_BYTES:
        advice = "free space there (logs rotate at 10 MiB x 6) or pass --log-dir elsewhere"
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
        advice = "pass --log-dir with a writable folder"
        return CheckResult("disk", "FAIL", f"{where}: {err}", advice)
    return disk_result(free_bytes, where)


# -- all together --------------------------------------------------------------------------------


def run_checks(settings: AppSettings, log_dir: Path) -> list[CheckResult]:
    """Every check, in report order."""
    results = [check_torch()]
    results += [check_package(dist, module) for dist, module in PACKAGES]
    results += [check_ffmpeg(), check_gpu(), check_kernels(), check_display(), check_egl()]
    show_result, show = check_show(settings.show_path)
    results.append(show_result)
    if show is not None:
        results += [check_model(entry.name, entry.path) for entry in show.models]
    results += [check_osc(settings, show), check_disk(log_dir)]
    return results


def format_report(results: list[CheckResult]) -> str:
    """One line per check, plus an indented `-> advice` line under each WARN and FAIL.

    A detail of several lines (a ShowError lists every problem) continues indented.
    """
    width = max(len(r.name) for r in results)
    indent = " " * (width + 7)
    lines = []
    for r in results:
        first, *more = r.detail.splitlines() or [""]
        lines.append(f"{r.status:<4} {r.name:<{width}}  {first}")
        lines += [indent + line for line in more]
        if r.advice:
            lines.append(f"     {'':<{width}}  -> {r.advice}")
    failed = sum(r.status == "FAIL" for r in results)
    warned = sum(r.status == "WARN" for r in results)
    lines.append(f"{failed} FAIL, {warned} WARN, {len(results) - failed - warned} OK")
    return "\n".join(lines)


def results_json(results: list[CheckResult]) -> list[dict[str, str]]:
    """The results as plain dicts (for --json)."""
    return [asdict(r) for r in results]


def exit_code(results: list[CheckResult]) -> int:
    """0 when nothing FAILed, 1 otherwise."""
    return 1 if any(r.status == "FAIL" for r in results) else 0
