"""docs/farm/latent-walk-render.openjd.yaml: its tasks' frame ranges are run/farm.py's chunks
(the render manager's chunks are found complete by `--farm ray`), for lengths, chunk sizes and
batches that do and do not divide each other. The task script runs in bash with a stand-in
`latent-walk` on PATH that prints its arguments."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from installation.run.farm import Chunk, chunk_ranges

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "farm" / "latent-walk-render.openjd.yaml"


def task_ranges(tmp_path: Path, frames: int, chunk: int, batch: int, chunks: int) -> list[Chunk]:
    template = yaml.safe_load(TEMPLATE.read_text())
    render = next(step for step in template["steps"] if step["name"] == "Render")
    script = render["script"]["embeddedFiles"][0]["data"]
    fake = tmp_path / "latent-walk"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    params = {"Frames": frames, "ChunkFrames": chunk, "Batch": batch, "Chunks": chunks,
              "Show": "show.yaml", "Out": "show.mp4"}  # fmt: skip
    found = []
    for task in range(1, chunks + 1):
        text = script.replace("{{Task.Param.Chunk}}", str(task))
        text = re.sub(r"\{\{Param\.(\w+)\}\}", lambda m: str(params[m.group(1)]), text)
        env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
        out = subprocess.run(["bash", "-c", text], capture_output=True, text=True, timeout=10,
                             env=env, check=True).stdout  # fmt: skip
        match = re.search(r"--frames (\d+)-(\d+)$", out.strip())
        if match:
            assert out.startswith("render show.yaml --out show.mp4 --batch ")
            found.append(Chunk(int(match.group(1)), int(match.group(2))))
    return found


@pytest.mark.parametrize("frames,chunk,batch", [(120, 30, 10), (100, 50, 8), (7200, 240, 8),
                                                (97, 8, 16), (10, 8, 8), (1, 8, 8)])
def test_the_templates_tasks_render_the_farms_chunks(
    tmp_path: Path, frames: int, chunk: int, batch: int
) -> None:
    chunks = -(-frames // chunk)
    expected = chunk_ranges(frames, chunk, batch)
    assert task_ranges(tmp_path, frames, chunk, batch, chunks + 2) == expected  # extra tasks idle


def test_the_join_step_asks_the_farm_for_the_same_chunks() -> None:
    template = yaml.safe_load(TEMPLATE.read_text())
    join = next(step for step in template["steps"] if step["name"] == "Join")
    args = join["script"]["actions"]["onRun"]["args"]
    assert args[-2:] == ["--farm", "ray"]
    assert args[args.index("--chunk-frames") + 1] == "{{Param.ChunkFrames}}"
    assert args[args.index("--batch") + 1] == "{{Param.Batch}}"
