"""The CPU thread policy: chosen before torch loads OpenMP, user settings left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from installation import threads

ROOT = Path(__file__).resolve().parents[2]
# /proc/cpuinfo in miniature: 4 logical CPUs, 2 cores with 2 threads each
HYPERTHREADED_CPUINFO = "\n\n".join(
    f"processor\t: {cpu}\nphysical id\t: 0\ncore id\t\t: {cpu % 2}\nflags\t\t: avx2"
    for cpu in range(4)
)
PLAIN_CPUINFO = "\n\n".join(f"processor : {cpu}\nmodel name : some cpu" for cpu in range(3))


def test_passive_policy_and_default_count_are_chosen() -> None:
    env: dict[str, str] = {}
    chosen = threads.choose_policy(env)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["KMP_BLOCKTIME"] == "0"
    assert env["OMP_NUM_THREADS"] == str(threads.default_threads())
    assert chosen == env


def test_what_the_user_set_is_left_alone() -> None:
    env = {"OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "5"}
    chosen = threads.choose_policy(env)
    assert env["OMP_WAIT_POLICY"] == "ACTIVE" and env["OMP_NUM_THREADS"] == "5"
    assert set(chosen) == {"KMP_BLOCKTIME"}


def test_latent_walk_threads_sets_the_count() -> None:
    env = {"LATENT_WALK_THREADS": "3", "OMP_NUM_THREADS": "5"}
    threads.choose_policy(env)
    assert env["OMP_NUM_THREADS"] == "3"


def test_bad_latent_walk_threads_is_ignored_with_one_line(caplog: pytest.LogCaptureFixture) -> None:
    env = {"LATENT_WALK_THREADS": "many"}
    threads.choose_policy(env)
    assert env["OMP_NUM_THREADS"] == str(threads.default_threads())
    assert "$LATENT_WALK_THREADS='many': expected a number of threads >= 1" in caplog.text


def test_torch_policy_changes_nothing() -> None:
    env = {"LATENT_WALK_THREAD_POLICY": "torch", "LATENT_WALK_THREADS": "3"}
    assert threads.choose_policy(env) == {}
    assert set(env) == {"LATENT_WALK_THREAD_POLICY", "LATENT_WALK_THREADS"}


def test_physical_cores_count_hyperthreads_once() -> None:
    assert threads.physical_cores(HYPERTHREADED_CPUINFO, allowed={0, 1, 2, 3}) == 2
    assert threads.physical_cores(HYPERTHREADED_CPUINFO, allowed={0, 2}) == 1  # one core's pair
    assert threads.physical_cores(PLAIN_CPUINFO, allowed={0, 1, 2}) == 3  # no core ids: logical


def test_a_cgroup_quota_limits_the_cores() -> None:
    assert threads.cgroup_cpu_limit("150000 100000") == 2
    assert threads.cgroup_cpu_limit("max 100000") is None
    cores = threads.physical_cores(PLAIN_CPUINFO, allowed={0, 1, 2}, cpu_max="100000 100000")
    assert cores == 1


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (3, 3), (4, 3), (16, 15)])
def test_default_threads_leave_one_core_from_four_up(cores: int, expected: int) -> None:
    assert threads.default_threads(cores) == expected


PROBE = """
import json, os, runpy, sys
sys.argv = [sys.argv[1], "--help"]
entry = sys.argv[0]
loaded_early = None
if entry.endswith("run_show.py"):
    runpy.run_path(entry)  # module level only (not __main__): the policy, no torch yet
    loaded_early = "torch" in sys.modules
else:
    from installation.__main__ import main
    sys.argv = ["latent-walk", "schema"]
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        main()
import torch
print(json.dumps({"torch_before": loaded_early, "threads": torch.get_num_threads(),
                  "wait": os.environ.get("OMP_WAIT_POLICY")}))
"""


@pytest.mark.parametrize("entry", ["run_show.py", "latent-walk"])
def test_entry_points_choose_the_policy_before_torch_loads(entry: str) -> None:
    ours = ("OMP_", "KMP_", "LATENT_WALK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env["LATENT_WALK_THREADS"] = "1"
    target = str(ROOT / "run_show.py") if entry == "run_show.py" else entry
    proc = subprocess.run([sys.executable, "-c", PROBE, target], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["torch_before"] in (False, None)  # run_show.py's imports leave torch alone
    assert result["wait"] == "PASSIVE"
    assert result["threads"] == 1  # torch read the count when it loaded: the order held


def test_threads_option_reaches_torch(caplog: pytest.LogCaptureFixture) -> None:
    import torch

    from installation.settings import settings_from_argv

    settings = settings_from_argv(["--threads", "1"])
    before = torch.get_num_threads()
    try:
        with caplog.at_level("DEBUG", logger="installation.threads"):
            assert threads.configure_torch(settings.threads) == 1
        assert torch.get_num_threads() == 1
        assert "CPU threads: 1 for torch" in caplog.text
    finally:
        torch.set_num_threads(before)


def test_bad_threads_option_is_one_line(capsys: pytest.CaptureFixture) -> None:
    from installation.settings import settings_from_argv

    with pytest.raises(SystemExit) as exit_info:
        settings_from_argv(["--threads", "0"])
    assert exit_info.value.code == 2
    assert "--threads" in capsys.readouterr().err


def test_a_spinning_policy_from_the_environment_is_a_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    threads.configure_torch(None)
    warning = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warning) == 1
    assert "OpenMP wait policy ACTIVE: idle threads spin" in warning[0].message
