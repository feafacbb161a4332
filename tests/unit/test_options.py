"""Every numeric and path option of run_show.py and latent-walk is checked at the edge: a bad
value is one line on stderr naming the option and exit 2, never a traceback, a black image or a
list of billions of seeds. Real argument parsing, real files, real /dev devices."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from installation.cli import main as latent_walk
from installation.device import choose_device
from installation.models import save_generator
from installation.options import output_problem
from installation.settings import settings_from_argv
from installation.tools.common import IntRanges, parse_int_ranges, parse_layer_range
from tiny_models import tiny_sg3

REPO = Path(__file__).resolve().parents[2]


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    """The only line on stderr (no traceback, no usage block)."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


def absent_cuda() -> str:
    """A CUDA device this machine does not have: cuda without a GPU, else one past the last."""
    return f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny StyleGAN3 (16 px) file."""
    path = tmp_path_factory.mktemp("options") / "tiny.safetensors"
    save_generator(tiny_sg3(), path)
    return path


# --- run_show.py --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--fps", "inf"], "argument --fps: expected a number > 0 and <= 1000 frames/s, got 'inf'"),
        (["--fps", "nan"], "argument --fps: expected a number > 0 and <= 1000 frames/s, got 'nan'"),
        (["--size", "100000x100000"], "argument --size: expected WIDTHxHEIGHT in pixels (1..16384"),
        (["--start", "1e300"], "argument --start: expected a number in 0..1000000000 s"),
        (["--start=-inf"], "argument --start: expected a number in 0..1000000000 s"),
        (["--duration", "nan"], "argument --duration: expected a number > 0 and <= 1000000000 s"),
        (["--frames", "0"], "argument --frames: expected an integer in 1..2147483647, got '0'"),
        (["--frames", "99999999999"], "argument --frames: expected an integer in 1..2147483647"),
        (["--batch", "100000"], "argument --batch: expected an integer in 1..256"),
        (["--latency-ms", "inf"], "argument --latency-ms: expected a number > 0 and <= 60000 ms"),
        (["--display", "1000"], "argument --display: expected an integer in 0..63"),
        (["--hang-timeout", "nan"], "argument --hang-timeout: expected a number > 0 and <= 86400"),
        (["--max-recoveries", "-3"], "argument --max-recoveries: expected an integer in 1..100000"),
        (["--supervise", "--supervise-timeout", "inf"], "argument --supervise-timeout: expected"),
        (["--device", "tpu"], "argument --device: expected auto, cpu, cuda or cuda:N, got 'tpu'"),
        (["--device", "cuda:x"], "argument --device: expected auto, cpu, cuda or cuda:N"),
    ],
)
def test_run_show_numbers_out_of_range_are_one_line_and_exit_2(args, expected, capsys):
    with pytest.raises(SystemExit) as exited:
        settings_from_argv(args)
    assert exited.value.code == 2
    line = one_error_line(capsys)
    assert line.startswith("run_show.py: error: ") and expected in line, line


def test_run_show_output_paths_are_checked_before_anything_starts(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    cases = [
        (["--log-file", str(tmp_path)], f"--log-file {tmp_path}: is a directory, not a file"),
        (["--log-file", str(a_file / "show.log")],
         f"--log-file {a_file / 'show.log'}: cannot create it: {a_file} is not a directory"),
        (["--out", str(a_file / "v.mp4")], f"--out {a_file / 'v.mp4'}: cannot create it"),
        (["--out", str(a_file) + "/"], f"--out {a_file}/: is a file, not a directory"),
        (["--out", "/proc/v.mp4"], "--out /proc/v.mp4: cannot create files in /proc"),
        (["--stats-json", str(tmp_path)], f"--stats-json {tmp_path}: is a directory"),
        (["--status-file", "/dev/full/s.json"], "--status-file /dev/full/s.json: cannot create"),
    ]  # fmt: skip
    for args, expected in cases:
        with pytest.raises(SystemExit) as exited:
            settings_from_argv(args)
        assert exited.value.code == 2
        line = one_error_line(capsys)
        assert expected in line, (args, line)
    # writable places pass, and nothing was created by the check
    settings = settings_from_argv(["--out", str(tmp_path / "new" / "v.mp4"),
                                   "--log-file", str(tmp_path / "logs" / "show.log")])  # fmt: skip
    assert settings.out_path is not None and not (tmp_path / "new").exists()
    assert output_problem(tmp_path / "new" / "deeper" / "x.png", is_folder=False) is None


def test_run_show_device_defaults_to_auto_and_is_resolved_with_a_reason():
    assert settings_from_argv([]).device == "auto"
    device, reason = choose_device("auto")
    assert device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert reason.startswith("auto: torch ") and ("GPU" in reason or "no CUDA device" in reason)


def run_show(*args: str) -> subprocess.CompletedProcess:
    """The real run_show.py, headless (no display variables), capturing its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run([sys.executable, str(REPO / "run_show.py"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_run_show_without_the_asked_gpu_exits_2_with_one_line():
    device = absent_cuda()
    result = run_show("--headless", "--frames", "1", "--device", device, "--log-level", "ERROR")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"run_show: --device {device}: "), lines
    assert "Traceback" not in result.stderr


# --- latent-walk --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--psi", "nan"], "argument --psi: expected a number in -1..2, got 'nan'"),
        (["--psi", "inf"], "argument --psi: expected a number in -1..2, got 'inf'"),
        (["--psi", "1e308"], "argument --psi: expected a number in -1..2"),
        (["--seeds", "4294967296"], "argument --seeds: 4294967296: outside 0..4294967295"),
        (["--seeds", "5-2"], "argument --seeds: 5-2: a range runs from low to high"),
        (["--seeds", ""], "argument --seeds: empty list"),
        (["--seeds", "0-4294967295", "--grid"],
         "--grid: 4294967296 images are too many for one grid (at most 4096)"),
        (["--cutoff", "-1"], "argument --cutoff: expected an integer in 0..64, got '-1'"),
        (["--translate", "nan,0"], "argument --translate: expected two numbers 'x,y' in -1..1"),
        (["--translate", "5,0"], "argument --translate: expected two numbers 'x,y' in -1..1"),
        (["--rotate", "inf"], "argument --rotate: expected a number in -360..360 degrees"),
        (["--grid-columns", "0"], "argument --grid-columns: expected an integer in 1..1024"),
        (["--class", "-2"], "argument --class: expected an integer in 0..100000"),
        (["--mix-seed", "-1"], "argument --mix-seed: expected an integer in 0..4294967295"),
        (["--device", "gpu"], "argument --device: expected auto, cpu, cuda or cuda:N, got 'gpu'"),
    ],  # fmt: skip
)
def test_generate_bad_numbers_exit_2_with_one_line_and_write_nothing(
    args, expected, model, tmp_path, capsys
):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exited:
        latent_walk(["generate", str(model), "--out", str(out), *args])
    assert exited.value.code == 2
    line = one_error_line(capsys)
    assert line.startswith("latent-walk generate: error: ") and expected in line, line
    assert not out.exists()  # `--psi nan` never ends as a black seed0000.png


def test_seed_ranges_are_lazy_and_bounded():
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seeds = parse_int_ranges("0-4294967295")
    assert isinstance(seeds, IntRanges) and len(seeds) == 2**32
    assert (seeds[0], seeds[123_456_789], seeds[-1]) == (0, 123_456_789, 2**32 - 1)
    assert 3_000_000_000 in seeds and list(seeds[:3]) == [0, 1, 2]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb < 50_000  # no list
    assert parse_int_ranges("0,1,4-6") == [0, 1, 4, 5, 6]
    assert list(parse_int_ranges("9, 3-4")) == [9, 3, 4]  # the order given
    # a layer range far past the model is named as a range, not enumerated
    with pytest.raises(Exception, match=r"rows 16-4000000000 are outside 0\.\.15"):
        parse_layer_range("0-4000000000", 16)


@pytest.mark.parametrize("tool", ["generate", "seeds", "directions", "inspect", "convert"])
def test_tools_refuse_a_directory_or_a_device_file_as_model(tool, tmp_path, capsys):
    extra = [str(tmp_path / "x.safetensors")] if tool == "convert" else []
    for path, expected in (
        (tmp_path, f"error: {tmp_path}: is a directory, not a model file"),
        (Path("/dev/zero"), "error: /dev/zero: is a device file, not a model file"),
        (tmp_path / "missing.pkl", f"error: {tmp_path / 'missing.pkl'}: no such file"),
    ):
        assert latent_walk([tool, str(path), *extra]) == 2
        line = one_error_line(capsys)
        assert line.startswith(expected), line


def test_tools_check_output_places_and_combined_ranges(model, tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    cases = [
        (["generate", str(model), "--out", str(a_file)], f"--out {a_file}: is a file, not a dir"),
        (["seeds", str(model), "--out", str(a_file / "s.png")], "cannot create it"),
        (["convert", str(model), str(tmp_path)], "is a directory, not a file"),
        (["seeds", str(model), "--from", "4294967295", "--count", "2"],
         "--from 4294967295 --count 2: seeds end at 4294967295"),
        (["osc-send", "/psi", "0.5", "--port", "0"], "argument --port: expected a port number"),
        (["osc-send", "/psi", "--wait-reply", "nan"], "argument --wait-reply: expected a number"),
        (["doctor", "--osc-port", "99999"], "argument --osc-port: expected a port number"),
        (["directions", str(model), "--samples", "0"], "argument --samples: expected an integer"),
        (["project", str(model), "x.png", "--steps", "-5"], "argument --steps: expected"),
        (["project", str(model), "x.png", "--lr", "nan"], "argument --lr: expected a number > 0"),
        (["render", "--fps", "1e9", "--out", str(tmp_path / "v.mp4")],
         "argument --fps: expected a number > 0 and <= 1000 frames/s"),
        (["render", "--start", "nan", "--out", str(tmp_path / "v.mp4")], "argument --start: "),
        (["render", "--out", "/proc/v.mp4"], "--out /proc/v.mp4: cannot create files in /proc"),
        (["storyboard", "--every", "inf"], "argument --every: expected a number > 0"),
    ]  # fmt: skip
    for args, expected in cases:
        with pytest.raises(SystemExit) as exited:
            latent_walk(args)
        assert exited.value.code == 2
        line = one_error_line(capsys)
        assert expected in line, (args, line)


def test_tools_default_to_auto_device_and_refuse_an_absent_gpu(model, tmp_path, capsys):
    device = absent_cuda()
    assert latent_walk(["generate", str(model), "--device", device, "--out",
                        str(tmp_path / "out")]) == 2  # fmt: skip
    line = one_error_line(capsys)
    assert line.startswith(f"error: --device {device}: "), line
    if not torch.cuda.is_available():
        assert "LATENT_WALK_TORCH=torch bash scripts/setup.sh" in line or "driver" in line
    assert not (tmp_path / "out").exists()


def test_inspect_of_dev_zero_is_one_line_in_a_real_process():
    result = subprocess.run([sys.executable, "-m", "installation", "inspect", "/dev/zero"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: /dev/zero: is a device file, not a model file (.pkl or .safetensors)"
    ]


def test_generate_over_every_nvidia_seed_starts_at_once_and_keeps_going(model, tmp_path):
    """`--seeds 0-4294967295` is lazy: the first images are written while the range is endless
    (today's list of four billion ints never finished parsing)."""
    out, err = tmp_path / "out", tmp_path / "stderr.txt"
    with err.open("w") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "installation", "generate", str(model), "--seeds",
             "0-4294967295", "--device", "cpu", "--out", str(out)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=err_file,
        )  # fmt: skip
    try:
        deadline_s = time.monotonic() + 60
        while time.monotonic() < deadline_s and process.poll() is None:
            if (out / "seed0005.png").exists():
                break
            time.sleep(0.1)
        assert process.poll() is None, err.read_text()
        assert (out / "seed0000.png").exists() and (out / "seed0005.png").exists()
    finally:
        process.kill()
        process.wait(10)


def test_a_show_naming_a_directory_or_a_device_as_its_model_says_so(tmp_path, capsys):
    (tmp_path / "adir.pkl").mkdir()
    walk = "{space: w, path: cubic, seconds_per_keyframe: 2, keyframes: [{seed: 1}, {seed: 2}]}"
    for model_path, expected in (
        ("adir.pkl", f"models.m.path: {tmp_path / 'adir.pkl'}: is a directory, not a file"),
        ("/dev/zero", "models.m.path: /dev/zero: is a device file, not a regular file"),
    ):
        show = tmp_path / "show.yaml"
        show.write_text(f"models:\n  m:\n    path: {model_path}\nsections:\n  - name: a\n"
                        f"    model: m\n    duration_s: 5\n    walk: {walk}\n", encoding="utf-8")
        assert latent_walk(["validate", str(show)]) == 1
        line = one_error_line(capsys)
        assert line == f"{show}:3: {expected}", line
