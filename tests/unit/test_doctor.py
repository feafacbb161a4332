"""`latent-walk doctor` on this machine: real show files, a real EGL context, real sockets."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from installation.cli import main
from installation.doctor import (
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    CheckResult,
    check_disk,
    check_display,
    check_gpu,
    disk_result,
    exit_code,
    run_checks,
)
from installation.settings import AppSettings

ROOT = Path(__file__).resolve().parents[2]


def report_lines(out: str) -> dict[str, str]:
    """Report lines by check name: {'show': 'OK   show  ...', ...} (advice lines left out)."""
    lines = {}
    for line in out.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("OK", "WARN", "FAIL"):
            name = rest.strip().split("  ")[0]
            lines[name] = line
    return lines


def test_doctor_on_the_demo_show_passes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["doctor", "--log-dir", str(tmp_path)]) == 0
    lines = report_lines(capsys.readouterr().out)
    assert lines["show"].startswith("OK") and "demo.yaml: 5 sections" in lines["show"]
    assert lines["model demo"].startswith("OK") and "stylegan3-t 256 px" in lines["model demo"]
    assert lines["display-EGL"].startswith("OK") and "renderer=" in lines["display-EGL"]
    assert lines["osc"].startswith("OK") and "OSC off" in lines["osc"]
    assert lines["torch"].startswith("OK") and lines["python-osc"].startswith("OK")
    assert not any(line.startswith("FAIL") for line in lines.values())


def test_doctor_json_parses_in_a_fresh_process(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "installation", "doctor", "--json", "--log-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(proc.stdout)  # nothing else on stdout (no pygame banner)
    assert "doctor: OK show" in proc.stderr  # progress, one line per check, on stderr
    by_name = {r["name"]: r for r in results}
    assert set(by_name["show"]) == {"name", "status", "detail", "advice"}
    assert by_name["show"]["status"] == "OK"
    assert by_name["display-EGL"]["status"] == "OK"
    assert by_name["disk"]["status"] in ("OK", "WARN")


def test_broken_show_fails_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    show = tmp_path / "broken.yaml"
    show.write_text(
        "models:\n  demo: {path: nowhere.pkl}\nsections:\n  - name: a\n    model: demo\n"
        "    duration_s: -1\n    walk: {keyframes: [{seed: 1}, {seed: 2}]}\n"
    )
    assert main(["doctor", str(show), "--log-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    lines = report_lines(out)
    assert lines["show"].startswith("FAIL")
    assert f"{show}:2: models.demo.path: file not found" in lines["show"]
    assert f"{show}:6: sections[0].duration_s: must be a number > 0, got -1" in out  # all errors
    assert f"latent-walk validate {show}" in out
    assert "model demo" not in lines  # no show, no models to load


def test_taken_osc_port_fails(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        args = ["doctor", "--osc-host", "127.0.0.1", "--osc-port", str(port)]
        assert main([*args, "--log-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    osc = report_lines(out)["osc"]
    assert osc.startswith("FAIL") and f"127.0.0.1:{port} is taken" in osc
    assert f"sport = :{port}" in out  # the advice names the port


def test_free_osc_port_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [
        "doctor",
        "--osc-host",
        "127.0.0.1",
        "--osc-port",
        str(port),
        "--log-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert report_lines(capsys.readouterr().out)["osc"].startswith("OK")


@pytest.mark.parametrize(
    ("free_bytes", "status"),
    [
        (DISK_FAIL_BYTES - 1, "FAIL"),
        (DISK_FAIL_BYTES, "WARN"),
        (DISK_WARN_BYTES - 1, "WARN"),
        (DISK_WARN_BYTES, "OK"),
        (50 * DISK_WARN_BYTES, "OK"),
    ],
)
def test_disk_thresholds(free_bytes: int, status: str) -> None:
    result = disk_result(free_bytes, Path("/var/log"))
    assert result.status == status
    assert "/var/log" in result.detail
    assert bool(result.advice) == (status != "OK")


def test_disk_of_a_log_dir_not_made_yet(tmp_path: Path) -> None:
    result = check_disk(tmp_path / "logs" / "later")
    assert result.status in ("OK", "WARN") and str(tmp_path) in result.detail


def test_display_from_the_environment() -> None:
    assert check_display({}).status == "WARN"
    assert "--headless" in check_display({}).advice
    assert check_display({"DISPLAY": ":0"}).status == "OK"
    assert check_display({"SDL_VIDEODRIVER": "dummy"}).status == "WARN"


def test_exit_code_is_one_only_on_fail() -> None:
    assert exit_code([CheckResult("a", "OK", ""), CheckResult("b", "WARN", "", "x")]) == 0
    assert exit_code([CheckResult("a", "OK", ""), CheckResult("b", "FAIL", "", "x")]) == 1


def test_cpu_only_gpu_line_states_the_figure_and_its_conditions() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device: the line names it instead")
    result = check_gpu(measure_fps=lambda: 0.43)
    assert result.status == "WARN"
    assert "the demo model renders 0.43 frames/s here (256 px, fast precision" in result.detail
    assert "torch threads" in result.detail and "load average" in result.detail
    if torch.version.cuda is None:  # a CPU torch: the hint is the whole CUDA set-up command
        assert "LATENT_WALK_TORCH=torch bash scripts/setup.sh" in result.advice


def test_each_result_is_reported_before_the_next_check_runs(tmp_path: Path) -> None:
    seen: list[str] = []

    class Stop(Exception):
        pass

    def first_only(result: CheckResult) -> None:
        seen.append(result.name)
        raise Stop  # were the checks run all first, every one would have run by now

    with pytest.raises(Stop):
        run_checks(AppSettings(), tmp_path, on_result=first_only)
    assert seen == ["torch"]


def test_low_disk_advice_names_the_shows_log_option() -> None:
    advice = disk_result(DISK_FAIL_BYTES - 1, Path("/var/log")).advice
    assert "--log-file" in advice and "--log-dir" in advice
