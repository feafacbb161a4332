"""VideoWriter: the offline-render sink (`run_show.py --out FILE.mp4|DIR/`), H.264 or PNGs.

An H.264 file is encoded by the ffmpeg binary that imageio-ffmpeg bundles (shared/notes/stack.md
§4). We start that ffmpeg ourselves rather than through `imageio_ffmpeg.write_frames`, because
that helper lets ffmpeg's stderr through to the terminal and ignores its exit status; here both
are kept, so a failure becomes one VideoError that quotes ffmpeg.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import imageio.v3 as iio
import numpy as np

from installation.errors import InstallationError
from installation.render.frame import Frame

log = logging.getLogger(__name__)

VideoKind = Literal["mp4", "png"]

# Suffixes written as H.264 through ffmpeg; compared lower-case.
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v")
# Containers of the ISO/QuickTime family, where "+faststart" moves the index to the front so a
# browser can start playing before the whole file has arrived (ffmpeg's mov/mp4 muxer option).
FASTSTART_SUFFIXES = (".mp4", ".mov", ".m4v")
ACCEPTED_FORMS = (
    "FILE.mp4, FILE.mov, FILE.mkv or FILE.m4v (H.264 video), "
    "or a directory (DIR/, an existing directory or a name without suffix) for PNG frames"
)
# x264's constant-rate factor: 17 is about visually lossless (x264 docs: ~17-18), preset medium
# is x264's default speed/size trade-off.
X264_CRF = 17
X264_PRESET = "medium"
# `render --preview`: a quick look, where encoding time matters more than file size (x264's
# veryfast is several times faster than medium at the same CRF, for a larger file).
PREVIEW_PRESET = "veryfast"
# yuv420p: the pixel format every browser and player decodes; it needs even width and height.
PIXEL_FORMAT = "yuv420p"
# Convert to, and tag as, BT.709 limited range: what browsers and players assume for HD video.
# The tags go on the frames (setparams); ffmpeg 9's encoder takes them from there.
COLOR_FILTER = (
    "scale=out_color_matrix=bt709:out_range=tv,"
    "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"
)
# The sound track of a render to music (--audio): AAC, which every browser and player decodes in
# an MP4; 192 kb/s is transparent for most music at AAC-LC.
AAC_BITRATE = "192k"
# Seconds ffmpeg may take after the last frame to flush its lookahead and write the index.
FFMPEG_CLOSE_TIMEOUT_S = 120.0
# Characters of ffmpeg's stderr quoted in a VideoError (its last lines say what failed).
FFMPEG_MESSAGE_CHARS = 2000
# PNG zlib level: 1 writes ~35 % faster than the default 6 for ~10 % larger files (stack.md §4).
PNG_COMPRESS_LEVEL = 1
PNG_NAME = "frame_{:06d}.png"


class VideoError(InstallationError):
    """A video or PNG sequence could not be written; the message names the path and the reason."""

    exit_code = 1


def video_kind(path: str | os.PathLike[str]) -> VideoKind:
    """The output `path` asks for: "mp4" (FILE.mp4/.mov/.mkv/.m4v) or "png" (a directory).

    Any other suffix raises VideoError naming the accepted forms.
    A directory is an existing one, a path ending in "/" (or os.sep), or a name without suffix.
    Pass the user's string: pathlib.Path drops a trailing separator ("out.v2/" -> "out.v2").
    """
    text = os.fspath(path)
    as_path = Path(text)
    if as_path.is_dir() or text.endswith(("/", os.sep)):
        return "png"
    suffix = as_path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "mp4"
    if not suffix:
        return "png"
    raise VideoError(f"{text}: cannot write {suffix!r} output; use {ACCEPTED_FORMS}")


def _find_ffmpeg() -> str:
    """Path of imageio-ffmpeg's ffmpeg binary, or VideoError saying why there is none."""
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise VideoError(
            f"cannot write video: imageio-ffmpeg is not installed ({err}); "
            "pip install imageio-ffmpeg, or write PNG frames to a directory"
        ) from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as err:  # raised when neither the bundled nor a system ffmpeg exists
        raise VideoError(f"cannot write video: no ffmpeg found ({err})") from None


def _even(n: int) -> int:
    """`n` rounded up to an even number."""
    return n + (n % 2)


def fit_image(rgb: np.ndarray, size_px: tuple[int, int], fit: str = "letterbox") -> np.ndarray:
    """[H, W, 3] uint8 fitted into (width, height): letterbox (black bars), fill (crop), stretch.

    Resampled with Lanczos (Pillow), as a video wants; the same geometry as the window's.
    """
    from PIL import Image

    from installation.display.presenter import fill_viewport, fit_viewport

    target_w, target_h = size_px
    image_w, image_h = rgb.shape[1], rgb.shape[0]
    if (image_w, image_h) == (target_w, target_h):
        return rgb
    if fit == "stretch":
        x, y, width, height = 0, 0, target_w, target_h
    elif fit == "fill":
        x, y, width, height = fill_viewport((image_w, image_h), size_px)
    else:
        x, y, width, height = fit_viewport((image_w, image_h), size_px)
    scaled = np.asarray(Image.fromarray(rgb).resize((width, height), Image.LANCZOS))
    out = np.zeros((target_h, target_w, 3), dtype=np.uint8)
    src_x, src_y = max(-x, 0), max(-y, 0)  # fill: crop what falls outside
    dst_x, dst_y = max(x, 0), max(y, 0)
    w = min(width - src_x, target_w - dst_x)
    h = min(height - src_y, target_h - dst_y)
    out[dst_y : dst_y + h, dst_x : dst_x + w] = scaled[src_y : src_y + h, src_x : src_x + w]
    return out


class VideoWriter:
    """Writes Frames to an H.264 file (ffmpeg) or to a directory of PNGs, all of one size.

    Use as a context manager, or call close(); until then an H.264 file is incomplete.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        preset: str = X264_PRESET,
        audio: tuple[Path, float] | None = None,
    ) -> None:
        """`preset`: x264's speed/size trade-off for H.264 (PNG frames ignore it); `audio`:
        (sound file, seconds) muxed as AAC from the file's start, the first frame at its time 0
        (PNG frames: left out, with a warning)."""
        self.kind: VideoKind = video_kind(path)
        self.preset = preset
        self.audio = audio
        self.path = Path(path)
        if not fps > 0:
            raise VideoError(f"{self.path}: fps must be > 0, got {fps}")
        self.fps = float(fps)
        self.frames_written = 0
        self.size_px: tuple[int, int] | None = None  # of the first frame, as the frames come
        self._is_closed = False
        self._ffmpeg_exe = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        if self.kind == "mp4":
            self._ffmpeg_exe = _find_ffmpeg()
            self._make_dir(self.path.parent)
        else:
            self._make_dir(self.path)
            self._warn_stale_frames()
            if audio is not None:
                log.warning("PNG frames have no sound track; %s is not written with them",
                            audio[0])  # fmt: skip

    def _make_dir(self, directory: Path) -> None:
        """Create `directory` (and parents) and check that it is writable, else VideoError."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise VideoError(
                f"{self.path}: cannot create directory {directory}: {err.strerror or err}"
            ) from None
        if not os.access(directory, os.W_OK | os.X_OK):
            raise VideoError(f"{self.path}: directory {directory} is not writable")

    def _warn_stale_frames(self) -> None:
        """Warn when the PNG directory already holds frames (a longer old run would leave some)."""
        stale_count = sum(1 for _ in self.path.glob("frame_*.png"))
        if stale_count:
            log.warning(
                "png directory already has frames; they are overwritten, extra ones stay "
                "path=%s existing=%d", self.path, stale_count,
            )  # fmt: skip

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:  # finish what was written; the error already in flight is the one to report
            self.close()
        except VideoError as close_err:
            log.error("video not finished after an error path=%s reason=%s", self.path, close_err)

    def write(self, frame: Frame) -> None:
        """Append one frame (packed uint8 or float planes); all frames must have the same size."""
        if self._is_closed:
            raise VideoError(f"{self.path}: write() after close()")
        size_px = frame.size_px
        if self.size_px is None:
            self.size_px = size_px
        elif size_px != self.size_px:
            raise VideoError(
                f"{self.path}: frame {frame.index} is {size_px[0]}x{size_px[1]}, but the video "
                f"is {self.size_px[0]}x{self.size_px[1]}; all frames must have one size"
            )
        rgb = frame.rgb8()  # [H, W, 3] uint8
        if self.kind == "png":
            self._write_png(rgb)
        else:
            self._write_ffmpeg(rgb)
        self.frames_written += 1

    def _write_png(self, rgb: np.ndarray) -> None:
        """Write `rgb` as the next frame_NNNNNN.png."""
        file_path = self.path / PNG_NAME.format(self.frames_written)
        try:
            iio.imwrite(file_path, rgb, extension=".png", compress_level=PNG_COMPRESS_LEVEL)
        except OSError as err:
            raise VideoError(f"{file_path}: cannot write PNG: {err.strerror or err}") from None

    def _write_ffmpeg(self, rgb: np.ndarray) -> None:
        """Send `rgb` to ffmpeg (started on the first frame), padded to even size."""
        height, width = rgb.shape[:2]
        padded_size_px = (_even(width), _even(height))
        if self._process is None:
            self._start_ffmpeg(padded_size_px)
        if padded_size_px != (width, height):  # black row/column at the bottom/right
            rgb = np.pad(
                rgb, ((0, padded_size_px[1] - height), (0, padded_size_px[0] - width), (0, 0))
            )
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(np.ascontiguousarray(rgb).data)
        except OSError as err:  # BrokenPipeError: ffmpeg has exited; its stderr says why
            self._finish_ffmpeg()  # raises with ffmpeg's message when its status is not 0
            raise VideoError(f"{self.path}: ffmpeg stopped reading frames: {err}") from None

    def _start_ffmpeg(self, size_px: tuple[int, int]) -> None:
        """Start ffmpeg reading raw rgb24 frames of `size_px` (even) from a pipe."""
        assert self.size_px is not None
        if size_px != self.size_px:
            log.info(
                "video size padded to even for yuv420p path=%s size=%dx%d padded=%dx%d",
                self.path, *self.size_px, *size_px,
            )  # fmt: skip
        fps = Fraction(self.fps).limit_denominator(1001 * 1000)  # 29.97 stays 2997/100
        cmd = [
            self._ffmpeg_exe, "-hide_banner", "-nostats", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size_px[0]}x{size_px[1]}",
            "-r", str(fps), "-i", "-",
        ]  # fmt: skip
        if self.audio is None:
            cmd += ["-an"]
        else:  # the song from its start, as long as the video: first frame = sound time 0
            audio_path, seconds = self.audio
            cmd += ["-t", f"{seconds:.6f}", "-i", str(audio_path), "-map", "0:v:0",
                    "-map", "1:a:0", "-c:a", "aac", "-b:a", AAC_BITRATE]  # fmt: skip
        cmd += [
            "-c:v", "libx264", "-preset", self.preset, "-crf", str(X264_CRF),
            "-pix_fmt", PIXEL_FORMAT, "-vf", COLOR_FILTER,
        ]  # fmt: skip
        if self.path.suffix.lower() in FASTSTART_SUFFIXES:
            cmd += ["-movflags", "+faststart"]
        cmd.append(str(self.path))
        log.debug("ffmpeg command=%s", " ".join(cmd))
        # stderr goes to a file, not a pipe: a full pipe that nobody reads would stall ffmpeg.
        self._stderr = tempfile.TemporaryFile()
        # Its own process group, so Ctrl-C stops our loop, and close() still finalizes the file.
        group_kwargs: dict[str, object] = (
            {"start_new_session": True}
            if os.name == "posix"
            else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        )
        try:
            self._process = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                **group_kwargs,  # type: ignore[call-overload]
            )
        except OSError as err:
            self._stderr.close()
            self._is_closed = True
            raise VideoError(
                f"{self.path}: cannot start ffmpeg {self._ffmpeg_exe}: {err}"
            ) from None

    def _finish_ffmpeg(self) -> None:
        """Close ffmpeg's input, wait for it, and raise VideoError if it failed."""
        process = self._process
        assert process is not None and self._stderr is not None
        self._is_closed = True
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:  # BrokenPipeError on flush: ffmpeg already exited; status below
                pass
        try:
            status = process.wait(timeout=FFMPEG_CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            status = None
        self._stderr.seek(0)
        message = self._stderr.read().decode("utf-8", errors="replace").strip()
        self._stderr.close()
        if status is None:
            raise VideoError(
                f"{self.path}: ffmpeg did not finish within {FFMPEG_CLOSE_TIMEOUT_S:.0f} s "
                "after the last frame; killed it"
            )
        if status != 0:
            raise VideoError(
                f"{self.path}: ffmpeg failed (exit status {status}) after "
                f"{self.frames_written} frames: {message[-FFMPEG_MESSAGE_CHARS:] or 'no message'}"
            )

    def close(self) -> None:
        """Finish the file (flush ffmpeg) and log a summary; safe to call twice."""
        if self._is_closed:
            return
        self._is_closed = True
        if self._process is not None:
            self._finish_ffmpeg()
        if self.frames_written == 0:
            log.warning("video closed with no frames; nothing written path=%s", self.path)
            return
        assert self.size_px is not None
        log.info(
            "video written path=%s kind=%s frames=%d size=%dx%d fps=%g",
            self.path, self.kind, self.frames_written, *self.size_px, self.fps,
        )  # fmt: skip
