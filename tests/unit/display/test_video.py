"""VideoWriter: real H.264 files through imageio-ffmpeg's ffmpeg, and PNG sequences, read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from installation.display.video import VideoError, VideoWriter, video_kind
from installation.render.frame import Frame

FRAME_COUNT = 12
# H.264 at crf 17 with 4:2:0 chroma is lossy: on these smooth gradients the mean absolute error
# per channel is ~2 levels of 255 (measured); 4 leaves room for other x264 builds.
H264_MEAN_ABS_ERROR_MAX = 4.0
# Consecutive test frames move by 8 levels; encoded ones must still differ by well over noise.
MOVING_MEAN_DIFF_MIN = 2.0


def gradient(width: int, height: int, step: int) -> np.ndarray:
    """[H, W, 3] uint8: smooth red/green ramps, red and blue brighten by 8 levels per step."""
    x = np.linspace(0.0, 160.0, width)[None, :]  # [1, W]
    y = np.linspace(0.0, 200.0, height)[:, None]  # [H, 1]
    red = x + 8 * step + 0 * y
    green = y + 0 * x
    blue = np.full((height, width), 60.0 + 8 * step)
    return np.stack([red, green, blue], axis=2).round().astype(np.uint8)


def packed_frames(width: int, height: int) -> list[Frame]:
    """FRAME_COUNT packed uint8 frames of a moving gradient."""
    return [
        Frame(gradient(width, height, i), index=i, show_time_s=i / 30, gen_ms=0.0)
        for i in range(FRAME_COUNT)
    ]


def write_all(path: Path, frames: list[Frame], fps: float = 30.0) -> VideoWriter:
    """Write `frames` to `path` and close; returns the closed writer."""
    with VideoWriter(path, fps) as writer:
        for frame in frames:
            writer.write(frame)
    return writer


def mean_abs_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 images, in levels of 255."""
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("show.mp4", "mp4"),
        ("SHOW.MOV", "mp4"),
        ("show.mkv", "mp4"),
        ("show.m4v", "mp4"),
        ("frames", "png"),
        ("frames/", "png"),
        ("frames.v2/", "png"),
    ],
)
def test_video_kind_from_suffix(tmp_path: Path, name: str, kind: str) -> None:
    assert video_kind(f"{tmp_path}/{name}") == kind


def test_video_kind_of_an_existing_directory_is_png(tmp_path: Path) -> None:
    (tmp_path / "renders.v2").mkdir()
    assert video_kind(tmp_path / "renders.v2") == "png"


@pytest.mark.parametrize("name", ["show.gif", "show.avi", "show.webm"])
def test_other_suffixes_are_refused_with_the_accepted_forms(tmp_path: Path, name: str) -> None:
    with pytest.raises(VideoError) as caught:
        VideoWriter(tmp_path / name, 30)
    message = str(caught.value)
    assert str(tmp_path / name) in message
    assert ".mp4" in message and "directory" in message
    assert caught.value.exit_code == 1


def test_mp4_round_trip_keeps_count_size_motion_and_content(tmp_path: Path) -> None:
    frames = packed_frames(64, 48)
    writer = write_all(tmp_path / "show.mp4", frames)
    assert (writer.kind, writer.frames_written) == ("mp4", FRAME_COUNT)

    video = iio.imread(tmp_path / "show.mp4")  # [N, H, W, 3] uint8
    assert video.shape == (FRAME_COUNT, 48, 64, 3)
    for i in range(1, FRAME_COUNT):
        assert mean_abs_error(video[i], video[i - 1]) > MOVING_MEAN_DIFF_MIN
    for written, read in zip(frames, video, strict=True):
        assert mean_abs_error(read, written.pixels) < H264_MEAN_ABS_ERROR_MAX
    assert iio.immeta(tmp_path / "show.mp4")["fps"] == pytest.approx(30.0)


def test_odd_size_is_padded_to_even_with_the_content_in_place(tmp_path: Path) -> None:
    frames = packed_frames(63, 47)
    write_all(tmp_path / "odd.mov", frames, fps=24.0)
    video = iio.imread(tmp_path / "odd.mov")
    assert video.shape == (FRAME_COUNT, 48, 64, 3)  # padded, not rescaled
    for written, read in zip(frames, video, strict=True):
        assert mean_abs_error(read[:47, :63], written.pixels) < H264_MEAN_ABS_ERROR_MAX
    # The added column and row are black, up to the codec's bleed from the neighbouring pixels.
    assert video[:, :, 63].mean() < video[:, :, 62].mean() / 2
    assert video[:, 47, :].mean() < video[:, 46, :].mean() / 2


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_planar_float_frames_are_written_like_their_rgb8(tmp_path: Path, dtype: type) -> None:
    frames = []
    for i in range(FRAME_COUNT):
        rgb = gradient(64, 48, i).astype(np.float32)
        planes = np.ascontiguousarray(((rgb - 127.5) / 127.5).transpose(2, 0, 1).astype(dtype))
        frames.append(Frame(planes, index=i, show_time_s=i / 30, gen_ms=0.0))  # [3, H, W]
    write_all(tmp_path / "planar.mkv", frames)
    video = iio.imread(tmp_path / "planar.mkv")
    assert video.shape == (FRAME_COUNT, 48, 64, 3)
    for written, read in zip(frames, video, strict=True):
        assert mean_abs_error(read, written.rgb8()) < H264_MEAN_ABS_ERROR_MAX


def test_png_sequence_round_trips_exactly(tmp_path: Path) -> None:
    frames = packed_frames(63, 47)
    writer = write_all(tmp_path / "frames", frames)
    assert (writer.kind, writer.frames_written) == ("png", FRAME_COUNT)
    names = sorted(path.name for path in (tmp_path / "frames").iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(FRAME_COUNT)]
    for i, frame in enumerate(frames):
        read = iio.imread(tmp_path / "frames" / f"frame_{i:06d}.png")
        np.testing.assert_array_equal(read, frame.pixels)


def test_png_sequence_accepts_a_trailing_separator_string(tmp_path: Path) -> None:
    # a str, not a Path: Path drops the trailing separator and ".v2" would read as a suffix
    with VideoWriter(f"{tmp_path}/out.v2/", 30) as writer:
        writer.write(packed_frames(16, 16)[0])
    assert writer.kind == "png"
    assert (tmp_path / "out.v2" / "frame_000000.png").is_file()


@pytest.mark.parametrize("name", ["show.mp4", "frames"])
def test_a_size_change_is_refused_with_both_sizes(tmp_path: Path, name: str) -> None:
    with VideoWriter(tmp_path / name, 30) as writer:
        writer.write(packed_frames(64, 48)[0])
        with pytest.raises(VideoError, match=r"frame 1 is 32x32, but the video is 64x48"):
            writer.write(Frame(gradient(32, 32, 1), index=1, show_time_s=0.0, gen_ms=0.0))
    assert writer.frames_written == 1


@pytest.mark.parametrize("name", ["show.mp4", "frames"])
def test_a_parent_that_is_a_regular_file_is_refused_at_open(tmp_path: Path, name: str) -> None:
    (tmp_path / "notes.txt").write_text("not a directory")
    with pytest.raises(VideoError, match=r"cannot create directory .*notes\.txt"):
        VideoWriter(tmp_path / "notes.txt" / name, 30)


def test_an_ffmpeg_failure_is_reported_with_ffmpegs_message(tmp_path: Path) -> None:
    (tmp_path / "gone").mkdir()
    writer = VideoWriter(tmp_path / "gone" / "show.mp4", 30)
    shutil.rmtree(tmp_path / "gone")  # ffmpeg will not be able to open its output
    with pytest.raises(VideoError, match=r"ffmpeg failed .*No such file or directory"):
        for frame in packed_frames(64, 48):
            writer.write(frame)
        writer.close()
    writer.close()  # already closed by the failure: no second error


def test_close_is_idempotent_and_write_after_close_raises(tmp_path: Path) -> None:
    writer = write_all(tmp_path / "show.mp4", packed_frames(64, 48)[:2])
    writer.close()
    with pytest.raises(VideoError, match="after close"):
        writer.write(packed_frames(64, 48)[0])


def test_close_logs_a_summary(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="installation.display.video")
    write_all(tmp_path / "show.mp4", packed_frames(63, 47)[:3], fps=25.0)
    messages = [record.getMessage() for record in caplog.records]
    assert sum("padded to even" in message for message in messages) == 1
    assert f"video written path={tmp_path / 'show.mp4'} kind=mp4 frames=3 size=63x47 fps=25" in (
        messages
    )


def test_fit_image_letterbox_fill_and_stretch():
    from installation.display.video import fit_image

    image = np.full((20, 40, 3), 200, dtype=np.uint8)  # 2:1, a flat colour
    boxed = fit_image(image, (40, 40), "letterbox")
    assert boxed.shape == (40, 40, 3)
    assert (boxed[:10] == 0).all() and (boxed[30:] == 0).all()  # bars above and below
    assert (np.abs(boxed[12:28].astype(int) - 200) <= 1).all()
    filled = fit_image(image, (40, 40), "fill")
    assert filled.shape == (40, 40, 3) and (np.abs(filled.astype(int) - 200) <= 1).all()
    stretched = fit_image(image, (10, 30), "stretch")
    assert stretched.shape == (30, 10, 3) and (np.abs(stretched.astype(int) - 200) <= 1).all()
    assert fit_image(image, (40, 20)) is image  # already the size: untouched


def test_fill_crops_the_centre():
    from installation.display.video import fit_image

    image = np.zeros((10, 30, 3), dtype=np.uint8)
    image[:, 10:20] = 255  # a white middle third
    filled = fit_image(image, (10, 10), "fill")
    assert filled.shape == (10, 10, 3) and filled[:, 2:8].min() > 200  # only the middle is left
