"""Replacing a small text file so that a crash never leaves half of it: the one way this package
writes its own files (the presets file, the MIDI mapping file).

The text goes to a temp file in the same folder, is flushed to disk, then renamed over the file
(a rename within a folder is atomic on POSIX and Windows); a failure leaves the old file and no
temp file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) atomically.

    Raises:
        OSError: the folder cannot be written (the old file is untouched).
    """
    temp_name = None
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                         prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False) as temp:  # fmt: skip
            temp_name = temp.name
            temp.write(text)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
        temp_name = None
    finally:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
