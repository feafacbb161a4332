"""Offline render: the show frame by frame into an MP4 or a PNG folder (not real time).

One implementation for `latent-walk render SHOW --out FILE` and `run_show.py --out FILE`: the same
timeline and ShowRenderer as live play, in batches, on this thread. Frames keep the model's
resolution unless --size or the show's `output.size_px` asks for another (fitted as --fit says).

Before the long part the user learns what it will cost: the first frames are rendered (and
written) as usual, their time gives an estimate of the whole render, which is printed with the
cheaper alternative (`--preview`: fast precision, the model's own size or smaller, a faster
encoder preset). Ctrl-C stops; the frames written so far stay a playable file.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from installation.display.video import (
    PREVIEW_PRESET,
    X264_PRESET,
    VideoWriter,
    fit_image,
    video_kind,
)
from installation.progress import Progress, format_duration, plural
from installation.run.offline_sound import SoundDriver
from installation.run.startup import build_renderer, load_startup
from installation.run.stats import cuda_peak_mb, peak_rss_mb, write_stats
from installation.settings import VIDEO_FPS, AppSettings
from installation.show.schema import Show

if TYPE_CHECKING:
    from installation.audio.track import AudioTrack

log = logging.getLogger(__name__)

# The first generator pass renders this many frames: its time is loading and compiling, not the
# speed to expect, so the estimate starts after it (one frame: the estimate comes sooner).
WARMUP_FRAMES = 1
# The estimate waits for at least one full batch after the warm-up, then for ESTIMATE_WINDOW_S or
# a second batch, whichever comes first. Into a video it waits for ESTIMATE_VIDEO_FRAMES instead
# of the second batch: x264 takes its first ~45 frames (lookahead and frame threads at preset
# medium) before it slows the pipe down, so fewer frames would measure generation alone (a 1024
# px demo render was estimated at half its time).
ESTIMATE_WINDOW_S = 10.0
ESTIMATE_VIDEO_FRAMES = 64
# A render estimated longer than this suggests --preview (a shorter one is not worth a second try).
PREVIEW_HINT_MIN_S = 60.0


@dataclasses.dataclass(frozen=True)
class RenderPlan:
    """What an offline render makes: how many frames, at which rate, size and precision."""

    frames: int
    fps: float
    size_px: tuple[int, int] | None  # None: each frame at the model's own size
    precision: str
    is_preview: bool = False

    def describe(self, model_px: tuple[int, int] | None = None) -> str:
        """'240 frames (0:08 at 30 frames/s), 256x256, exact precision'."""
        size_px = self.size_px or model_px
        size = "the model's size" if size_px is None else f"{size_px[0]}x{size_px[1]}"
        return (f"{plural(self.frames, 'frame')} ({format_duration(self.frames / self.fps)} at "
                f"{self.fps:g} frames/s), {size}, {self.precision} precision")  # fmt: skip


def render_offline(
    settings: AppSettings, is_preview: bool = False, stream: TextIO | None = None
) -> int:
    """--out: render the show frame by frame into a video file or PNG folder (not real time).

    `is_preview`: fast precision (unless --precision says otherwise) and the model's own size
    or smaller (unless --size says otherwise). The plan, the estimate and the progress bar go
    to `stream` (default stderr).
    """
    assert settings.out_path is not None
    stream = stream if stream is not None else sys.stderr
    is_video = video_kind(settings.out_path) == "mp4"  # a bad suffix fails before any loading
    if is_preview and settings.precision is None:
        settings = dataclasses.replace(settings, precision="fast")
    show = load_startup(settings)
    track = None
    if settings.audio_path is not None:  # a bad sound file fails before the models load
        from installation.audio.track import analyse_file

        track = analyse_file(settings.audio_path)
        stream.write(f"render: {track.info.path.name}: {format_duration(track.duration_s)}, "
                     f"{track.tempo_bpm:.1f} BPM, {len(track.onsets_s)} onsets\n")  # fmt: skip
    renderer, _, info = build_renderer(settings, show)
    fps = settings.fps or show.settings.output.fps or VIDEO_FPS  # the show's `output.fps`
    sound = None
    if track is not None:
        sound = SoundDriver(track, renderer.timeline, renderer, settings.start_s)
        if not sound.names:
            log.warning("the show maps no audio.* sensor; the song is only muxed show=%s",
                        settings.show_path)  # fmt: skip
    plan = RenderPlan(
        frames=offline_frame_count(settings, show, fps, track), fps=fps,
        size_px=output_size(settings, show, renderer.generators, is_preview),
        precision=info.precision, is_preview=is_preview,
    )  # fmt: skip
    model_px = largest_model_px(renderer.generators)
    log.info("offline render path=%s frames=%d fps=%g size=%s fit=%s start_s=%g precision=%s "
             "batch=%d preview=%s", settings.out_path, plan.frames, fps,
             "model" if plan.size_px is None else "x".join(map(str, plan.size_px)), settings.fit,
             settings.start_s, info.precision, settings.max_batch, is_preview)  # fmt: skip
    stream.write(f"render: {plan.describe(model_px)} -> {settings.out_path}\n")
    stream.flush()
    started_s = time.perf_counter()
    gen_ms: list[float] = []
    preset = PREVIEW_PRESET if is_preview else X264_PRESET
    estimate = Estimate(plan.frames, settings.max_batch, is_video)
    try:
        writer = write_frames(renderer, plan, settings, preset, stream, estimate, model_px, gen_ms,
                              sound)  # fmt: skip
    except KeyboardInterrupt:
        done = len(gen_ms)
        stream.write(f"render: stopped after {plural(done, 'frame')}; {settings.out_path} holds "
                     f"{'them' if done != 1 else 'it'}\n")  # fmt: skip
        log.info("offline render stopped path=%s frames=%d", settings.out_path, done)
        return 130
    elapsed_s = time.perf_counter() - started_s
    guess = "" if estimate.total_s is None else f" (estimated {format_duration(estimate.total_s)})"
    stream.write(f"render: wrote {plural(plan.frames, 'frame')} to {settings.out_path} in "
                 f"{format_duration(elapsed_s)}{guess}\n")  # fmt: skip
    stats = {
        "frames_written": plan.frames, "fps": fps, "elapsed_s": elapsed_s,
        "estimated_s": estimate.total_s, "preview": is_preview,
        "size": list(writer.size_px) if writer.size_px else None,
        "gen_ms_median": float(np.median(gen_ms)) if gen_ms else None,
        "gen_ms_p95": float(np.percentile(gen_ms, 95)) if gen_ms else None,
        "peak_rss_mb": peak_rss_mb(), "cuda_peak_mb": cuda_peak_mb(),
        "out": str(settings.out_path), "show": info.show, "device": info.device,
        "precision": info.precision, "kernels": info.kernels,
    }  # fmt: skip
    log.info("offline render done path=%s frames=%d elapsed_s=%.1f", settings.out_path,
             plan.frames, elapsed_s)  # fmt: skip
    if settings.stats_json is not None:
        write_stats(settings.stats_json, stats)
    return 0


def write_frames(
    renderer: Any,
    plan: RenderPlan,
    settings: AppSettings,
    preset: str,
    stream: TextIO,
    estimate: Estimate,
    model_px: tuple[int, int] | None,
    gen_ms: list[float],
    sound: SoundDriver | None = None,
) -> VideoWriter:
    """Render and write every frame of the plan with a progress bar; print the estimate once.

    `gen_ms` gets each frame's generation time. A KeyboardInterrupt still finishes the file.
    `sound`: a render to music (the song steers the frames and is muxed into a video).
    """
    audio = None
    if sound is not None:
        audio = (sound.track.info.path, plan.frames / plan.fps)
    with VideoWriter(settings.out_path or "", plan.fps, preset=preset,
                     audio=audio) as writer, Progress(
        plan.frames, "render", stream, unit="frame", warmup_items=WARMUP_FRAMES
    ) as progress:  # fmt: skip
        for slots in frame_batches(plan.frames, settings.start_s, plan.fps, settings.max_batch):
            params = sound.params(slots) if sound is not None else None
            for frame in renderer.render_batch(slots, params):
                if plan.size_px is not None:
                    pixels = fit_image(frame.rgb8(), plan.size_px, settings.fit)
                    frame = dataclasses.replace(frame, pixels=pixels)
                writer.write(frame)
                gen_ms.append(frame.gen_ms)
            progress.update(len(slots))
            total_s = estimate.update(progress.count)
            if total_s is not None:
                log.info("offline render estimate total_s=%.0f per_frame_s=%.3f", total_s,
                         estimate.per_frame_s)  # fmt: skip
                progress.write(
                    estimate_message(total_s, estimate.per_frame_s, plan, settings, model_px)
                )
    return writer


class Estimate:
    """The total time of a render, measured once on the frames after the warm-up pass."""

    def __init__(
        self,
        frames: int,
        batch: int,
        is_video: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """`is_video`: frames go to an encoder that buffers the first ones (needs more frames)."""
        self.frames = frames
        self.batch = max(1, batch)
        self.enough_frames = max(ESTIMATE_VIDEO_FRAMES, self.batch) if is_video else 2 * self.batch
        self.clock = clock
        self.started_s = clock()
        self.measured_from: tuple[float, int] | None = None  # (time, frames done) after warm-up
        self.per_frame_s = 0.0
        self.total_s: float | None = None  # set once, when the estimate is made

    def update(self, done: int) -> float | None:
        """After each pass: the estimated total seconds once, when it is first known; else None."""
        now_s = self.clock()
        if self.total_s is not None or done >= self.frames:
            return None
        if self.measured_from is None:
            self.measured_from = (now_s, done)
            return None
        from_s, from_done = self.measured_from
        measured = done - from_done
        if measured < self.batch:
            return None
        if now_s - from_s < ESTIMATE_WINDOW_S and measured < self.enough_frames:
            return None
        self.per_frame_s = (now_s - from_s) / (done - from_done)
        self.total_s = (now_s - self.started_s) + (self.frames - done) * self.per_frame_s
        return self.total_s


def estimate_message(
    total_s: float,
    per_frame_s: float,
    plan: RenderPlan,
    settings: AppSettings,
    model_px: tuple[int, int] | None,
) -> str:
    """The estimate line, with the quicker alternative when this is not a preview already."""
    lines = [
        f"render: estimated {format_duration(total_s)} in all ({per_frame_s:.3g} s/frame, "
        "measured on the first frames); Ctrl-C stops and keeps the frames written so far"
    ]
    if not plan.is_preview and total_s > PREVIEW_HINT_MIN_S:
        size_px = settings.window_size_px or preview_size(plan.size_px, model_px)
        size = "the model's size" if size_px is None else f"{size_px[0]}x{size_px[1]}"
        lines.append(
            f"render: for a quick look add --preview (fast precision, {size}): "
            f"latent-walk render {settings.show_path} --out {settings.out_path} --preview"
        )
    return "\n".join(lines)


def frame_batches(
    count: int, start_s: float, fps: float, max_batch: int
) -> Iterable[list[tuple[int, float]]]:
    """(index, show time) slots of each generator pass: the warm-up frame(s), then full batches."""
    first = 0
    while first < count:
        size = WARMUP_FRAMES if first == 0 else max(1, max_batch)
        yield [(i, start_s + i / fps) for i in range(first, min(first + size, count))]
        first += size


def largest_model_px(generators: Mapping[str, Any]) -> tuple[int, int] | None:
    """(width, height) of the show's largest model (its frames' own size), None if unknown."""
    sizes = [int(getattr(G, "img_resolution", 0)) for G in generators.values()]
    largest = max(sizes, default=0)
    return (largest, largest) if largest > 0 else None


def output_size(
    settings: AppSettings, show: Show, generators: Mapping[str, Any], is_preview: bool
) -> tuple[int, int] | None:
    """The frames' size: --size, else the show's output.size_px (no larger than the model's
    for a preview), else None: the model's own size."""
    if settings.window_size_px is not None:
        return settings.window_size_px
    size_px = show.settings.output.size_px
    if not is_preview:
        return size_px
    return preview_size(size_px, largest_model_px(generators))


def preview_size(
    size_px: tuple[int, int] | None, model_px: tuple[int, int] | None
) -> tuple[int, int] | None:
    """`size_px` scaled down (never up, aspect kept, even) to fit the model's size; None: the
    model's own."""
    if size_px is None or model_px is None:
        return size_px
    scale = min(1.0, max(model_px) / max(size_px))
    if scale >= 1.0:
        return size_px
    return (max(2, 2 * round(size_px[0] * scale / 2)), max(2, 2 * round(size_px[1] * scale / 2)))


def offline_frame_count(
    settings: AppSettings, show: Show, fps: float, track: AudioTrack | None = None
) -> int:
    """--frames, else --duration x fps, else the song's length (--audio), else one pass of the
    show from --start."""
    if settings.max_frames is not None:
        return settings.max_frames
    duration_s = settings.max_duration_s
    if duration_s is None and track is not None:
        duration_s = track.duration_s
    if duration_s is None:
        duration_s = max(show.total_s() - settings.start_s, 1.0 / fps)
    return max(1, round(duration_s * fps))
