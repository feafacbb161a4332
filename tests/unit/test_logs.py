"""Logging setup: the log file rotates by size and keeps a bounded number of old files; a log
file that cannot be written (a full device, a vanished folder) is reported in one rate-limited
line and the program goes on."""

import logging
import shutil

import pytest

from installation.logs import SafeWatchedFileHandler, setup_logging


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


@pytest.fixture
def root_logger():
    """The root logger, given back to pytest as it was after the test."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def test_a_log_file_on_a_full_device_is_one_error_line_and_never_a_traceback(
    root_logger, capsys
):
    setup_logging("INFO", "/dev/full")  # every write fails: ENOSPC, as on a full disk
    log = logging.getLogger("installation.test")
    for i in range(2000):  # far more than any buffer
        log.info("line %d %s", i, "x" * 100)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    reports = [line for line in err.splitlines() if "log file not written" in line]
    assert len(reports) == 1, reports  # rate-limited: one line per 10 minutes
    assert "path=/dev/full: [Errno 28] No space left on device" in reports[0]
    assert "ERROR" in reports[0] and "the show plays on" in reports[0]
    assert "line 1999" in err  # stderr still gets every line


def test_a_log_folder_that_vanishes_is_reported_then_writing_resumes(root_logger, tmp_path, capsys):
    folder = tmp_path / "logs"
    path = folder / "supervisor.log"
    folder.mkdir()
    handler = SafeWatchedFileHandler(path, encoding="utf-8")
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.INFO)
    log = logging.getLogger("installation.test")
    log.info("before")
    shutil.rmtree(folder)  # the file and its folder are gone: reopening fails
    for i in range(5):
        log.info("lost %d", i)
    assert handler.failed_writes == 5
    folder.mkdir()
    log.info("after")
    root_logger.removeHandler(handler)
    handler.close()
    text = path.read_text(encoding="utf-8")
    assert "after" in text and "lost" not in text
    assert "log file writable again path=" in text and "after 5 failed writes" in text
    assert "Traceback" not in capsys.readouterr().err
