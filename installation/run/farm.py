"""Render farm: one offline render split into contiguous frame chunks, rendered on many machines.

`latent-walk render SHOW --out OUT --farm ray` hands each chunk to a Ray task (one GPU per task
where the cluster has GPUs, one CPU otherwise); `latent-walk render SHOW --out OUT --frames A-B`
renders one chunk in this process (a render manager's task). Both write the same chunk store:

- PNG frames (`--out DIR/`): each frame under its index in the whole render
  (`DIR/frame_000123.png`), a manifest per chunk in `DIR/.farm/`;
- video (`--out FILE.mp4`): one H.264 segment per chunk in `FILE.mp4.parts/` (each segment is an
  encode of its own, so it starts with a key frame and no frame refers outside it: a closed GOP),
  its manifest beside it; the segments are joined without re-encoding (ffmpeg's concat demuxer,
  `-c copy`, the ffmpeg imageio-ffmpeg bundles).

A chunk is complete when its manifest names the same plan (show file, models, frame times, size,
precision, batch) and every file it lists is there with its SHA-256. Re-running renders only
the chunks that are not complete: missing, corrupt or from another plan.

The chunks render exactly as the single-process render does: frame i is the show at
start + i / fps, and a chunk's generator passes are the whole render's passes
(`offline.frame_batches`) that fall inside it, so PNG frames are byte-identical to the
single-process render's when chunk boundaries fall on pass boundaries (`chunk_ranges` keeps
them there). A render to music (--audio) is not split: its sound Player carries state from frame
to frame.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from installation.display.video import (
    PREVIEW_PRESET,
    VIDEO_SUFFIXES,
    X264_PRESET,
    VideoError,
    VideoWriter,
    fit_image,
    video_kind,
)
from installation.errors import InstallationError
from installation.progress import Progress, format_duration, plural
from installation.run.atomic import write_text_atomically
from installation.run.offline import (
    WARMUP_FRAMES,
    frame_batches,
    offline_frame_count,
    output_size,
)
from installation.run.startup import build_renderer, load_startup
from installation.settings import VIDEO_FPS, AppSettings

log = logging.getLogger(__name__)

# Frames per chunk unless --chunk-frames: 8 s at 30 frames/s, a few minutes of a GPU at 1024 px;
# short enough that a lost chunk costs little, long enough that loading a model is a small part.
DEFAULT_CHUNK_FRAMES = 240
MANIFEST_VERSION = 1
FARM_FOLDER = ".farm"  # beside PNG frames: the manifests and running markers
PARTS_SUFFIX = ".parts"  # FILE.mp4.parts/: a video's segments and their manifests
# Ray retries a chunk whose worker died (process killed, machine lost) this many times.
CHUNK_RETRIES = 3
FARM_INSTALL_HINT = "pip install 'latent-walk[farm]'"
FFMPEG_JOIN_TIMEOUT_S = 600.0
HASH_BLOCK_BYTES = 1 << 20


class FarmError(InstallationError):
    """A farm render could not start, a chunk failed or the join failed; one line says why."""


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Frames first..last (inclusive) of the whole render."""

    first: int
    last: int

    @property
    def frames(self) -> int:
        return self.last - self.first + 1

    @property
    def name(self) -> str:
        return f"chunk_{self.first:06d}-{self.last:06d}"


def chunk_ranges(frames: int, chunk_frames: int, batch: int) -> list[Chunk]:
    """Contiguous chunks covering frames 0..frames-1, each about `chunk_frames` long.

    Boundaries fall on the whole render's generator-pass boundaries (the warm-up frame, then every
    `batch` frames), so each chunk renders the very passes the single-process render does.
    """
    batch, chunk_frames = max(1, batch), max(1, chunk_frames)
    starts = [0]
    for j in range(1, -(-frames // chunk_frames)):
        # the pass boundary nearest to j * chunk_frames (halves up; integer arithmetic that a
        # render manager's job template repeats: docs/operators.md, Render farm)
        passes = max(0, (j * chunk_frames - WARMUP_FRAMES + batch // 2) // batch)
        start = WARMUP_FRAMES + passes * batch
        if starts[-1] < start < frames:
            starts.append(start)
    ends = starts[1:] + [frames]
    return [Chunk(first, end - 1) for first, end in zip(starts, ends, strict=True)]


def chunk_batches(
    chunk: Chunk, start_s: float, fps: float, batch: int
) -> Iterable[list[tuple[int, float]]]:
    """The whole render's generator passes (offline.frame_batches) cut to the chunk's frames."""
    for slots in frame_batches(chunk.last + 1, start_s, fps, batch):
        inside = [slot for slot in slots if slot[0] >= chunk.first]
        if inside:
            yield inside


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(HASH_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


class ChunkStore:
    """Where a render's chunks go and how to tell that one is complete (module docstring)."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.kind = video_kind(out)
        self.out = Path(out)
        if self.kind == "png":
            self.folder = self.out / FARM_FOLDER
        else:
            self.folder = self.out.with_name(self.out.name + PARTS_SUFFIX)

    def manifest_path(self, chunk: Chunk) -> Path:
        return self.folder / f"{chunk.name}.json"

    def running_path(self, chunk: Chunk) -> Path:
        return self.folder / f"{chunk.name}.running"

    def segment_path(self, chunk: Chunk) -> Path:
        return self.folder / f"{chunk.name}{self.out.suffix.lower()}"

    def frame_path(self, index: int) -> Path:
        return self.out / f"frame_{index:06d}.png"

    def is_complete(self, chunk: Chunk, plan_key: str) -> bool:
        """The chunk's manifest names this plan and range, and its files are there, unchanged."""
        try:
            manifest = json.loads(self.manifest_path(chunk).read_text(encoding="utf-8"))
            if (manifest.get("version"), manifest.get("plan"), manifest.get("first"),
                    manifest.get("last")) != (MANIFEST_VERSION, plan_key, chunk.first,
                                              chunk.last):  # fmt: skip
                return False
            files = manifest["files"]
            expected = self.expected_files(chunk)
            if sorted(files) != sorted(path.name for path in expected):
                return False
            return all(file_sha256(path) == files[path.name] for path in expected)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False

    def expected_files(self, chunk: Chunk) -> list[Path]:
        if self.kind == "png":
            return [self.frame_path(i) for i in range(chunk.first, chunk.last + 1)]
        return [self.segment_path(chunk)]


def plan_key(settings: AppSettings, show: Any, fps: float, is_preview: bool) -> str:
    """A digest of everything a chunk's pixels depend on: the show file and its models (size and
    modification time), the frame times, size, fit, precision, batch, device and kernels (not
    the render's length: frame i is the same in a longer render)."""
    parts: dict[str, Any] = {
        "show": file_sha256(Path(settings.show_path)),
        "models": sorted((str(m.path), _stat(m.path)) for m in show.models),
        "fps": fps, "start_s": settings.start_s,
        "size": settings.window_size_px, "fit": settings.fit, "precision": settings.precision,
        "batch": settings.max_batch, "device": settings.device, "kernels": settings.kernels,
        "preview": is_preview, "kind": video_kind(settings.out_path or ""),
    }  # fmt: skip
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _stat(path: Path) -> list[int]:
    try:
        info = Path(path).stat()
    except OSError:
        return [-1, -1]
    return [info.st_size, info.st_mtime_ns]


@dataclasses.dataclass(frozen=True)
class FarmPlan:
    """What every chunk of one render shares (sent to each worker)."""

    settings: AppSettings
    is_preview: bool
    frames: int
    fps: float
    key: str


def make_plan(settings: AppSettings, is_preview: bool) -> FarmPlan:
    """Read the show (cheap, no models) and fix the render's frames, rate and plan key."""
    assert settings.out_path is not None
    video_kind(settings.out_path)  # a bad suffix fails before anything else
    if settings.audio_path is not None:
        raise FarmError("a render to music (--audio) is not split into chunks (its sound "
                        "steering carries over from frame to frame); render it without --farm "
                        "or --frames A-B")  # fmt: skip
    if is_preview and settings.precision is None:
        settings = dataclasses.replace(settings, precision="fast")
    show = load_startup(settings)
    fps = settings.fps or show.settings.output.fps or VIDEO_FPS
    frames = offline_frame_count(settings, show, fps)
    return FarmPlan(settings, is_preview, frames, fps, plan_key(settings, show, fps, is_preview))


# One loaded renderer per worker process and plan: a worker that renders several chunks of the
# same render loads the models once.
_LOADED: dict[str, tuple[Any, tuple[int, int] | None]] = {}


def _renderer(plan: FarmPlan) -> tuple[Any, tuple[int, int] | None]:
    if plan.key not in _LOADED:
        _LOADED.clear()  # another render's models go
        show = load_startup(plan.settings)
        renderer, _, _ = build_renderer(plan.settings, show)
        size_px = output_size(plan.settings, show, renderer.generators, plan.is_preview)
        _LOADED[plan.key] = (renderer, size_px)
    return _LOADED[plan.key]


def render_chunk(plan: FarmPlan, chunk: Chunk) -> dict[str, Any]:
    """Render one chunk into the store and write its manifest; the manifest.

    Runs in a farm worker (a Ray task) or in this process (--frames A-B). Files are written
    under temporary names and renamed into place, the manifest last, so a worker killed midway
    leaves an incomplete chunk, never one that looks complete.
    """
    settings = plan.settings
    store = ChunkStore(settings.out_path or "")
    store.folder.mkdir(parents=True, exist_ok=True)
    started_s = time.perf_counter()
    host = socket.gethostname()
    store.running_path(chunk).write_text(
        json.dumps({"pid": os.getpid(), "host": host}), encoding="utf-8"
    )
    renderer, size_px = _renderer(plan)
    store.manifest_path(chunk).unlink(missing_ok=True)
    preset = PREVIEW_PRESET if plan.is_preview else X264_PRESET
    if store.kind == "png":
        target = store.folder / f"{chunk.name}.tmp"
        for old in target.glob("frame_*.png") if target.is_dir() else ():
            old.unlink()
        target_str = f"{target}/"
    else:
        target = store.folder / f"{chunk.name}.tmp{store.out.suffix.lower()}"
        target_str = str(target)
    with VideoWriter(target_str, plan.fps, preset=preset) as writer:
        for slots in chunk_batches(chunk, settings.start_s, plan.fps, settings.max_batch):
            for frame in renderer.render_batch(slots):
                if size_px is not None:
                    frame = dataclasses.replace(
                        frame, pixels=fit_image(frame.rgb8(), size_px, settings.fit)
                    )
                writer.write(frame)
    if store.kind == "png":
        for i in range(chunk.frames):
            os.replace(target / f"frame_{i:06d}.png", store.frame_path(chunk.first + i))
        target.rmdir()
    else:
        os.replace(target, store.segment_path(chunk))
    manifest = {
        "version": MANIFEST_VERSION, "plan": plan.key, "first": chunk.first, "last": chunk.last,
        "files": {path.name: file_sha256(path) for path in store.expected_files(chunk)},
        "host": host, "pid": os.getpid(), "seconds": time.perf_counter() - started_s,
    }  # fmt: skip
    write_text_atomically(store.manifest_path(chunk), json.dumps(manifest, indent=1))
    store.manifest_path(chunk).chmod(0o644)  # readable by the join, which may run as another user
    store.running_path(chunk).unlink(missing_ok=True)
    return manifest


def render_range(
    settings: AppSettings, first: int, last: int, is_preview: bool, stream: TextIO
) -> int:
    """`--frames A-B`: frames A..B of the whole render, in this process, into the chunk store."""
    if last < first:
        raise FarmError(f"--frames {first}-{last}: the last frame comes before the first")
    plan = make_plan(settings, is_preview)
    chunk = Chunk(first, last)
    store = ChunkStore(settings.out_path or "")
    if store.is_complete(chunk, plan.key):
        stream.write(f"render: frames {first}-{last} are complete in {settings.out_path}; "
                     "nothing to do\n")  # fmt: skip
        return 0
    started_s = time.perf_counter()
    stream.write(f"render: frames {first}-{last} -> {settings.out_path}\n")
    stream.flush()
    render_chunk(plan, chunk)
    where = store.segment_path(chunk) if store.kind != "png" else settings.out_path
    stream.write(f"render: wrote {plural(chunk.frames, 'frame')} to {where} in "
                 f"{format_duration(time.perf_counter() - started_s)}\n")  # fmt: skip
    return 0


def import_ray() -> Any:
    """The ray module, or FarmError with the install line."""
    try:
        import ray
    except ImportError:
        raise FarmError(f"--farm ray needs Ray: {FARM_INSTALL_HINT}") from None
    return ray


def connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at `address` ('auto', 'ray://host:10001') or start a local one (on
    127.0.0.1, no dashboard); True when this call started the connection (and should end it)."""
    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    return True


def render_farm(
    settings: AppSettings,
    is_preview: bool = False,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    address: str | None = None,
    stream: TextIO | None = None,
) -> int:
    """`--farm ray`: render the chunks that are not complete as Ray tasks, then join them."""
    stream = stream if stream is not None else sys.stderr
    ray = import_ray()
    plan = make_plan(settings, is_preview)
    store = ChunkStore(settings.out_path or "")
    chunks = chunk_ranges(plan.frames, chunk_frames, settings.max_batch)
    todo = [chunk for chunk in chunks if not store.is_complete(chunk, plan.key)]
    stream.write(f"render: {plural(plan.frames, 'frame')} in {plural(len(chunks), 'chunk')}; "
                 f"{len(chunks) - len(todo)} complete, {len(todo)} to render -> "
                 f"{settings.out_path}\n")  # fmt: skip
    stream.flush()
    started_s = time.perf_counter()
    failed = []
    if todo:  # all complete (a render manager's join step): no cluster needed
        is_ours = connect(ray, address)
        try:
            failed = _run_chunks(ray, plan, todo, stream)
        finally:
            if is_ours:
                ray.shutdown()
    if failed:
        raise FarmError(f"{plural(len(failed), 'chunk')} failed ({failed[0]}); run the same "
                        "command again to render what is missing")  # fmt: skip
    missing = [chunk.name for chunk in chunks if not store.is_complete(chunk, plan.key)]
    if missing:
        raise FarmError(f"chunks incomplete after rendering: {', '.join(missing[:4])}")
    if store.kind != "png":
        join_segments([store.segment_path(chunk) for chunk in chunks], store.out)
    elapsed_s = time.perf_counter() - started_s
    stream.write(f"render: wrote {plural(plan.frames, 'frame')} to {settings.out_path} in "
                 f"{format_duration(elapsed_s)} ({len(todo)} of "
                 f"{plural(len(chunks), 'chunk')} rendered)\n")  # fmt: skip
    log.info("farm render done path=%s frames=%d chunks=%d rendered=%d elapsed_s=%.1f",
             settings.out_path, plan.frames, len(chunks), len(todo), elapsed_s)  # fmt: skip
    if settings.stats_json is not None:
        from installation.run.stats import write_stats

        write_stats(settings.stats_json, {
            "frames_written": plan.frames, "fps": plan.fps, "elapsed_s": elapsed_s,
            "chunks": len(chunks), "chunks_rendered": len(todo), "out": str(settings.out_path),
        })  # fmt: skip
    return 0


def _run_chunks(ray: Any, plan: FarmPlan, todo: list[Chunk], stream: TextIO) -> list[str]:
    """Submit every chunk, count frames as chunks finish; the failures ('chunk_…: reason')."""
    gpus = ray.cluster_resources().get("GPU", 0) > 0 and plan.settings.device != "cpu"
    task = ray.remote(render_chunk).options(
        num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1, max_retries=CHUNK_RETRIES,
        retry_exceptions=False,
    )  # fmt: skip
    pending = {task.remote(plan, chunk): chunk for chunk in todo}
    failed: list[str] = []
    with Progress(sum(c.frames for c in todo), "render", stream, unit="frame") as progress:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            chunk = pending.pop(ready[0])
            try:
                ray.get(ready[0])
            except Exception as err:  # a chunk's own error (ray wraps it); the others go on
                reason = str(getattr(err, "cause", None) or err).strip().splitlines()
                failed.append(f"{chunk.name}: {reason[-1] if reason else type(err).__name__}")
                log.error("farm chunk failed chunk=%s reason=%s", chunk.name, failed[-1])
                progress.write(f"render: {failed[-1]}")
                continue
            progress.update(chunk.frames)
    return failed


def join_segments(segments: list[Path], out: Path) -> None:
    """Concatenate H.264 segments into `out` without re-encoding (ffmpeg concat demuxer)."""
    from installation.display.video import _find_ffmpeg

    if out.suffix.lower() not in VIDEO_SUFFIXES:
        raise FarmError(f"{out}: cannot join segments into {out.suffix!r}")
    listing = out.with_name(out.name + PARTS_SUFFIX) / "concat.txt"
    listing.write_text("".join(f"file '{_quoted(s.resolve())}'\n" for s in segments),
                       encoding="utf-8")  # fmt: skip
    partial = out.with_name(f".{out.stem}.joining{out.suffix}")
    command = [_find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "concat",
               "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart",
               str(partial)]  # fmt: skip
    if out.suffix.lower() == ".mkv":
        command.remove("-movflags")
        command.remove("+faststart")
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=FFMPEG_JOIN_TIMEOUT_S)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        partial.unlink(missing_ok=True)
        raise FarmError(f"{out}: joining the segments failed: {err}") from None
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        message = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise VideoError(f"{out}: joining the segments failed: {message}")
    os.replace(partial, out)


def _quoted(path: Path) -> str:
    """A path in a concat list: single quotes escaped as the demuxer reads them."""
    return str(path).replace("'", "'\\''")
