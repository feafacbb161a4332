"""run/farm.py's chunking rules: contiguous chunks on the generator passes' boundaries, each
chunk's passes the whole render's passes, and the store's completeness check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installation.run import farm
from installation.run.offline import frame_batches


@pytest.mark.parametrize("frames,chunk_frames,batch", [(120, 30, 10), (120, 30, 8), (5, 30, 8),
                                                       (1, 1, 1), (1000, 7, 3), (10, 1, 4)])
def test_chunks_cover_every_frame_once_on_pass_boundaries(
    frames: int, chunk_frames: int, batch: int
) -> None:
    chunks = farm.chunk_ranges(frames, chunk_frames, batch)
    assert chunks[0].first == 0 and chunks[-1].last == frames - 1
    assert all(a.last + 1 == b.first for a, b in zip(chunks, chunks[1:], strict=False))
    pass_starts = {slots[0][0] for slots in frame_batches(frames, 0.0, 30.0, batch)}
    assert {c.first for c in chunks} <= pass_starts
    assert len(chunks) == max(1, min(-(-frames // chunk_frames), len(pass_starts)))


def test_a_chunks_passes_are_the_whole_renders_passes() -> None:
    whole = list(frame_batches(120, 0.5, 10.0, 10))
    chunks = farm.chunk_ranges(120, 30, 10)
    parts = [b for c in chunks for b in farm.chunk_batches(c, 0.5, 10.0, 10)]
    assert parts == whole
    cut = list(farm.chunk_batches(farm.Chunk(5, 13), 0.5, 10.0, 10))  # off the boundaries
    assert [[i for i, _ in slots] for slots in cut] == [[5, 6, 7, 8, 9, 10], [11, 12, 13]]
    assert cut[0][0] == (5, 0.5 + 5 / 10.0)


def test_a_chunk_is_complete_only_with_its_manifest_plan_and_unchanged_files(
    tmp_path: Path,
) -> None:
    store = farm.ChunkStore(f"{tmp_path}/")
    chunk = farm.Chunk(2, 3)
    store.folder.mkdir()
    for i in (2, 3):
        store.frame_path(i).write_bytes(b"frame %d" % i)
    files = {p.name: farm.file_sha256(p) for p in store.expected_files(chunk)}
    manifest = {"version": farm.MANIFEST_VERSION, "plan": "k", "first": 2, "last": 3,
                "files": files}  # fmt: skip
    store.manifest_path(chunk).write_text(json.dumps(manifest))
    assert store.is_complete(chunk, "k")
    assert not store.is_complete(chunk, "another plan")
    assert not store.is_complete(farm.Chunk(2, 4), "k")
    store.frame_path(3).write_bytes(b"damaged")
    assert not store.is_complete(chunk, "k")
    store.frame_path(3).unlink()
    assert not store.is_complete(chunk, "k")
    store.manifest_path(chunk).write_text("{not json")
    assert not store.is_complete(chunk, "k")


def test_video_segments_live_beside_the_file(tmp_path: Path) -> None:
    store = farm.ChunkStore(tmp_path / "show.MP4")
    assert store.kind == "mp4"
    segment = tmp_path / "show.MP4.parts" / "chunk_000000-000009.mp4"
    assert store.segment_path(farm.Chunk(0, 9)) == segment


def test_the_cli_default_chunk_length_is_the_farms() -> None:
    from installation.tools import render

    assert render.DEFAULT_CHUNK_FRAMES == farm.DEFAULT_CHUNK_FRAMES
