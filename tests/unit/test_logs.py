"""Logging setup: the log file rotates by size and keeps a bounded number of old files."""

import logging

from installation.logs import setup_logging


def test_log_file_rotates_and_stays_bounded(tmp_path):
    path = tmp_path / "logs" / "show.log"
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        setup_logging("INFO", path, max_bytes=2000, backups=2)
        log = logging.getLogger("installation.test")
        for i in range(400):
            log.info("line %d %s", i, "x" * 40)
        files = sorted(p.name for p in path.parent.iterdir())
        assert files == ["show.log", "show.log.1", "show.log.2"]  # no show.log.3: bounded
        assert all(p.stat().st_size <= 2000 + 200 for p in path.parent.iterdir())
        assert "line 399" in path.read_text()
    finally:  # give the root logger back to pytest as it was
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
