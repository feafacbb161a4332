"""`latent-walk render --farm ray` and `--frames A-B`: a 120-frame render in 4 chunks on a local
Ray cluster (2 CPUs, 127.0.0.1, started here once for the module) gives the single-process
render's PNGs byte for byte, also when a worker is killed mid-chunk; a re-run renders only the
chunks that are missing or corrupt; a video's segments are joined without re-encoding.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import imageio.v2 as iio2
import numpy as np
import pytest
import torch

from installation.cli import main
from installation.run import farm
from tiny_models import tiny_show_tree

ray = pytest.importorskip("ray", reason="the farm extra: pip install 'latent-walk[farm]'")

SHOW_TEXT = """\
show:
  output: {size_px: [32, 32], fps: 10}
models:
  tiny:
    path: ../assets/demo/demo-sg3.safetensors
sections:
  - name: loop
    model: tiny
    loops: 1
    transition: {kind: crossfade, duration_s: 0.5}
    walk:
      space: w
      path: cubic
      closed: true
      seconds_per_keyframe: 1
      keyframes: [{seed: 1}, {seed: 2}]
  - name: drift
    model: tiny
    duration_s: 2
    walk:
      space: z
      path: slerp
      seconds_per_keyframe: 1
      keyframes: [{seed: 4}, {seed: 5}]
"""
FRAMES = 120
RENDER = ["--frames", str(FRAMES), "--batch", "10"]
FARM = [*RENDER, "--farm", "ray", "--chunk-frames", "30"]
CHUNKS = [(0, 30), (31, 60), (61, 90), (91, 119)]  # on the passes' boundaries (1 + 10 k)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """One local Ray cluster for the module: 2 CPUs, loopback only, no dashboard; its workers
    (and this process's reference render) run torch on one thread."""
    saved = os.environ.get("OMP_NUM_THREADS")
    threads = torch.get_num_threads()
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False)  # fmt: skip
    yield
    ray.shutdown()
    torch.set_num_threads(threads)
    if saved is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = saved


@pytest.fixture(scope="module")
def show_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_show_tree(tmp_path_factory.mktemp("farm"), SHOW_TEXT, "show.yaml")


@pytest.fixture(scope="module")
def reference(cluster: None, show_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The single-process render's PNG frames."""
    out = tmp_path_factory.mktemp("single")
    assert main(["render", str(show_path), "--out", f"{out}/", *RENDER]) == 0
    assert len(list(out.glob("frame_*.png"))) == FRAMES
    return out


def assert_same_frames(out: Path, reference: Path) -> None:
    names = sorted(p.name for p in reference.glob("frame_*.png"))
    assert sorted(p.name for p in out.glob("frame_*.png")) == names
    for name in names:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def kill_first_worker(folder: Path, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the worker of the first chunk that starts (its .running marker names its pid)."""
    while not stop.is_set():
        for marker in folder.glob("*.running") if folder.is_dir() else ():
            try:
                pid = json.loads(marker.read_text())["pid"]
            except (OSError, ValueError, KeyError):
                continue  # being written
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.002)


def test_farm_render_with_a_killed_worker_matches_the_single_process_render(
    show_path: Path, reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "frames"
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=kill_first_worker, args=(out / ".farm", killed, stop))
    killer.start()
    try:
        assert main(["render", str(show_path), "--out", f"{out}/", *FARM]) == 0
    finally:
        stop.set()
        killer.join()
    err = capsys.readouterr().err
    assert f"render: {FRAMES} frames in 4 chunks; 0 complete, 4 to render" in err
    assert "render  100% 120/120 frames" in err
    assert f"render: wrote {FRAMES} frames to {out}/" in err
    assert_same_frames(out, reference)
    manifests = {p.name: json.loads(p.read_text()) for p in (out / ".farm").glob("*.json")}
    assert sorted((m["first"], m["last"]) for m in manifests.values()) == CHUNKS
    assert len(killed) == 1
    assert killed[0] not in {m["pid"] for m in manifests.values()}  # retried on another worker
    assert not list((out / ".farm").glob("*.running")) and not list(out.glob(".farm/*.tmp"))

    # a re-run after one chunk lost a frame and another's frame was damaged renders those two
    (out / "frame_000040.png").unlink()
    (out / "frame_000100.png").write_bytes(b"\x89PNG broken")
    before = {p.name: p.stat().st_mtime_ns for p in (out / ".farm").glob("*.json")}
    assert main(["render", str(show_path), "--out", f"{out}/", *FARM]) == 0
    err = capsys.readouterr().err
    assert f"render: {FRAMES} frames in 4 chunks; 2 complete, 2 to render" in err
    after = {p.name: p.stat().st_mtime_ns for p in (out / ".farm").glob("*.json")}
    changed = sorted(name for name in after if after[name] != before[name])
    assert changed == ["chunk_000031-000060.json", "chunk_000091-000119.json"]
    assert_same_frames(out, reference)

    # nothing missing: nothing rendered
    assert main(["render", str(show_path), "--out", f"{out}/", *FARM]) == 0
    assert "4 complete, 0 to render" in capsys.readouterr().err


def test_farm_video_joins_the_segments_without_re_encoding(
    show_path: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "show.mp4"
    assert main(["render", str(show_path), "--out", str(out), *FARM]) == 0
    segments = sorted((tmp_path / "show.mp4.parts").glob("chunk_*.mp4"))
    assert [s.name for s in segments] == [f"chunk_{a:06d}-{b:06d}.mp4" for a, b in CHUNKS]
    joined = decoded(out)
    assert joined.shape == (FRAMES, 32, 32, 3)
    # the joined stream decodes to the segments' frames exactly: copied, not encoded again
    assert np.array_equal(joined, np.concatenate([decoded(s) for s in segments]))
    first = iio2.imread(reference / "frame_000000.png").astype(int)
    assert np.abs(joined[0].astype(int) - first).mean() < 8  # and it is the show


def decoded(path: Path) -> np.ndarray:
    reader = iio2.get_reader(path)
    try:
        return np.stack([np.asarray(frame) for frame in reader])
    finally:
        reader.close()


def test_frame_ranges_of_a_render_manager_match_the_whole_render(
    show_path: Path, reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "frames"
    for first, last in [(0, 7), (8, 29), (30, 119)]:  # any ranges, not only pass boundaries
        args = ["render", str(show_path), "--out", f"{out}/", *RENDER[2:], "--frames"]
        assert main([*args, f"{first}-{last}"]) == 0
    assert_same_frames(out, reference)
    assert main([*args, "8-29"]) == 0
    assert "frames 8-29 are complete" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "9-3"])
    assert "expected A-B with 0 <= A <= B" in capsys.readouterr().err


def test_a_render_to_music_is_not_split(
    show_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["render", str(show_path), "--out", f"{tmp_path}/", "--audio", str(tmp_path / "a.wav")]
    assert main([*args, "--farm", "ray"]) == 2
    assert main([*args, "--frames", "0-9"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all("(--audio) is not split into chunks" in line for line in lines)
    assert not list(tmp_path.glob("frame_*"))


def test_without_ray_one_line_names_the_extra(
    show_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # `import ray` fails
    assert main(["render", str(show_path), "--out", f"{tmp_path}/", "--farm", "ray"]) == 2
    assert capsys.readouterr().err == (
        f"error: --farm ray needs Ray: {farm.FARM_INSTALL_HINT}\n"
    )
