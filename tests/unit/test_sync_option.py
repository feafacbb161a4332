"""run_show.py --sync: leader, follow HOST:PORT; anything else is one usage line (exit 2)."""

from __future__ import annotations

import pytest

from installation.settings import settings_from_argv


def test_sync_leader_and_follow_parse() -> None:
    leader = settings_from_argv(["--sync", "leader", "--sync-port", "9200"])
    assert (leader.sync_mode, leader.sync_leader, leader.sync_port) == ("leader", None, 9200)
    follower = settings_from_argv(["--sync", "follow", "10.0.0.5:9100"])
    assert (follower.sync_mode, follower.sync_leader) == ("follow", ("10.0.0.5", 9100))
    assert settings_from_argv(["--sync", "link"]).sync_mode == "link"
    assert settings_from_argv([]).sync_mode is None


@pytest.mark.parametrize("words, wanted", [
    (["follow"], "expected leader, follow HOST:PORT or link"),
    (["follow", "nohost"], "--sync follow: expected HOST:PORT"),
    (["leader", "extra"], "expected leader, follow HOST:PORT or link"),
    (["link", "now"], "expected leader, follow HOST:PORT or link"),
])  # fmt: skip
def test_a_bad_sync_option_is_one_usage_line(words, wanted, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        settings_from_argv(["--sync", *words])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert wanted in error and len(error.strip().splitlines()) == 1
