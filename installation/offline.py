"""--out: render the show offline, frame by frame, into an MP4 or a PNG folder (not real time).

The same timeline and ShowRenderer as live play, in batches, on this thread. Frames keep the
model's resolution unless --size or the show's `output.size_px` asks for another (fitted as
--fit says).
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from installation.display.video import VideoWriter, fit_image
from installation.progress import Progress
from installation.settings import VIDEO_FPS, AppSettings
from installation.show.schema import Show
from installation.startup import build_renderer, load_startup
from installation.stats import cuda_peak_mb, peak_rss_mb, write_stats

log = logging.getLogger(__name__)


def render_offline(settings: AppSettings) -> int:
    """--out: render the show frame by frame into a video file or PNG folder (not real time)."""
    assert settings.out_path is not None
    show = load_startup(settings)
    renderer, _, info = build_renderer(settings, show)
    fps = settings.fps or show.settings.output.fps or VIDEO_FPS  # the show's `output.fps`
    count = offline_frame_count(settings, show, fps)
    size_px = settings.window_size_px or show.settings.output.size_px  # None: the model's
    log.info("offline render path=%s frames=%d fps=%g size=%s fit=%s start_s=%g precision=%s "
             "batch=%d", settings.out_path, count, fps,
             "model" if size_px is None else "x".join(map(str, size_px)), settings.fit,
             settings.start_s, info.precision, settings.max_batch)  # fmt: skip
    started_s = time.perf_counter()
    gen_ms: list[float] = []
    with VideoWriter(settings.out_path, fps) as writer, Progress(count, "render") as progress:
        for first in range(0, count, settings.max_batch):
            slots = [(i, settings.start_s + i / fps)
                     for i in range(first, min(first + settings.max_batch, count))]  # fmt: skip
            for frame in renderer.render_batch(slots):
                if size_px is not None:
                    pixels = fit_image(frame.rgb8(), size_px, settings.fit)
                    frame = dataclasses.replace(frame, pixels=pixels)
                writer.write(frame)
                gen_ms.append(frame.gen_ms)
            progress.update(len(slots))
    elapsed_s = time.perf_counter() - started_s
    stats = {
        "frames_written": count, "fps": fps, "elapsed_s": elapsed_s,
        "gen_ms_median": float(np.median(gen_ms)) if gen_ms else None,
        "gen_ms_p95": float(np.percentile(gen_ms, 95)) if gen_ms else None,
        "peak_rss_mb": peak_rss_mb(), "cuda_peak_mb": cuda_peak_mb(),
        "out": str(settings.out_path), "show": info.show, "device": info.device,
        "precision": info.precision, "kernels": info.kernels,
    }  # fmt: skip
    log.info("offline render done path=%s frames=%d elapsed_s=%.1f", settings.out_path, count,
             elapsed_s)  # fmt: skip
    if settings.stats_json is not None:
        write_stats(settings.stats_json, stats)
    return 0


def offline_frame_count(settings: AppSettings, show: Show, fps: float) -> int:
    """--frames, else --duration x fps, else one pass of the show from --start."""
    if settings.max_frames is not None:
        return settings.max_frames
    duration_s = settings.max_duration_s
    if duration_s is None:
        duration_s = max(show.total_s() - settings.start_s, 1.0 / fps)
    return max(1, round(duration_s * fps))
