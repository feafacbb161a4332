"""Hot reload: SwitchingTimeline schedules (now, section_end, cut) and try_reload's rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_latents import FakeLatents, constant_ws
from installation.errors import ShowError
from installation.run.startup import try_reload
from installation.show.load import validate_text
from installation.show.schema import Show
from installation.walk.switching import SwitchingTimeline, next_boundary_s
from installation.walk.timeline import Timeline


def make_show(tmp_path: Path, reload: str, lengths: tuple[float, ...]) -> Show:
    """A show of sections s0, s1, ... lasting `lengths` seconds, with a `reload:` setting."""
    (tmp_path / "m.pkl").write_bytes(b"")
    sections = "".join(
        f"  - name: s{i}\n    model: m\n    duration_s: {length}\n"
        f"    walk: {{path: linear, keyframes: [{{seed: 1}}, {{seed: 2}}]}}\n"
        for i, length in enumerate(lengths)
    )
    text = f"show: {{reload: {reload}}}\nmodels:\n  m: {{path: m.pkl}}\nsections:\n{sections}"
    return validate_text(text, tmp_path / "show.yaml")


def make_timeline(show: Show, base: float) -> Timeline:
    """Section i walks from base + 10 i to base + 10 i + 1."""
    latents = {
        s.name: FakeLatents(constant_ws(base + 10 * i, base + 10 * i + 1))
        for i, s in enumerate(show.sections)
    }
    return Timeline(show, latents)


@pytest.fixture
def old(tmp_path: Path) -> Timeline:
    """Two sections of 4 s and 6 s, values 0.. and 10.."""
    return make_timeline(make_show(tmp_path, "{when: now}", (4, 6)), 0.0)


def new_timeline(tmp_path: Path, reload: str) -> tuple[Timeline, Show]:
    """One section of 5 s, values 100.."""
    show = make_show(tmp_path, reload, (5,))
    return make_timeline(show, 100.0), show


TIMES = (0.0, 0.5, 1.7, 3.99, 4.0, 7.3, 9.9, 12.5, 21.0)


def test_without_a_switch_frames_are_the_old_timeline(old: Timeline) -> None:
    """Delegation: before any schedule, every frame equals the wrapped timeline's."""
    switching = SwitchingTimeline(old)
    for t in TIMES:
        assert switching.at(t).same_as(old.at(t))


def test_now_fades_then_plays_the_new_show_offset(old: Timeline, tmp_path: Path) -> None:
    """`now`: old frame with crossfade weight 0 -> 1 over crossfade_s, then the new at t - t_now."""
    new, show = new_timeline(tmp_path, "{when: now, crossfade_s: 2}")
    switching = SwitchingTimeline(old)
    assert switching.schedule(new, show, 3.0) == 3.0
    for t in (0.0, 1.0, 2.99):
        assert switching.at(t).same_as(old.at(t))
    weights = []
    for t in (3.0, 3.5, 4.0, 4.5, 4.99):
        frame = switching.at(t)
        assert frame.crossfade is not None
        partner, weight = frame.crossfade
        assert frame.latent.flat[0] == old.at(t).latent.flat[0]
        assert partner.same_as(new.at(t - 3.0))
        weights.append(weight)
    assert weights == pytest.approx([0.0, 0.25, 0.5, 0.75, 0.995])
    for t in (5.0, 6.3, 9.0, 20.0):
        assert switching.at(t).same_as(new.at(t - 3.0))
    assert switching.show is show


def test_section_end_waits_for_the_boundary(old: Timeline, tmp_path: Path) -> None:
    """`section_end`: nothing changes until the old show's next section boundary."""
    new, show = new_timeline(tmp_path, "{when: section_end, crossfade_s: 1}")
    switching = SwitchingTimeline(old)
    assert switching.schedule(new, show, 5.0) == 10.0  # s1 runs 4 s .. 10 s
    for t in (5.0, 7.0, 9.99):
        assert switching.at(t).same_as(old.at(t))
    frame = switching.at(10.5)
    assert frame.crossfade is not None
    assert frame.crossfade[1] == pytest.approx(0.5)
    assert frame.crossfade[0].same_as(new.at(0.5))
    for t in (11.0, 14.2):
        assert switching.at(t).same_as(new.at(t - 10.0))


def test_cut_when_crossfade_is_zero(old: Timeline, tmp_path: Path) -> None:
    """crossfade_s 0: the old frame until the boundary, the new one from it, never a blend."""
    new, show = new_timeline(tmp_path, "{when: section_end, crossfade_s: 0}")
    switching = SwitchingTimeline(old)
    assert switching.schedule(new, show, 1.0) == 4.0
    assert switching.at(3.99).same_as(old.at(3.99))
    for t in (4.0, 4.01, 6.0):
        frame = switching.at(t)
        assert frame.crossfade is None
        assert frame.same_as(new.at(t - 4.0))


def test_a_second_reload_chains_and_is_deterministic(old: Timeline, tmp_path: Path) -> None:
    """Two reloads: the second fades from the first's offset frames; same t, same frame."""
    new, show = new_timeline(tmp_path, "{when: now, crossfade_s: 1}")
    newer = make_timeline(show, 500.0)
    switching = SwitchingTimeline(old)
    switching.schedule(new, show, 2.0)
    switching.schedule(newer, show, 6.0)
    assert switching.at(5.0).same_as(new.at(3.0))
    frame = switching.at(6.5)
    assert frame.crossfade is not None
    assert frame.latent.flat[0] == new.at(4.5).latent.flat[0]
    assert frame.crossfade[0].same_as(newer.at(0.5))
    assert switching.at(8.0).same_as(newer.at(2.0))
    assert switching.at(8.0).same_as(switching.at(8.0))


def test_next_boundary() -> None:
    """Boundaries of a looping playlist of 4 s and 6 s."""
    assert next_boundary_s([4.0, 6.0], 0.0) == 0.0
    assert next_boundary_s([4.0, 6.0], 1.0) == 4.0
    assert next_boundary_s([4.0, 6.0], 4.0) == 4.0
    assert next_boundary_s([4.0, 6.0], 9.0) == 10.0
    assert next_boundary_s([4.0, 6.0], 12.0) == 14.0


def test_reload_settings_default_and_errors(tmp_path: Path) -> None:
    """Defaults now / 2.0; bad values give file:line: show.reload... errors."""
    show = make_show(tmp_path, "{}", (4,))
    assert (show.settings.reload.when, show.settings.reload.crossfade_s) == ("now", 2.0)
    (tmp_path / "m.pkl").write_bytes(b"")
    bad = "show:\n  reload: {when: later, crossfade_s: -1}\nmodels:\n  m: {path: m.pkl}\n"
    bad += "sections:\n  - {name: a, model: m, duration_s: 1, walk: {path: noise_loop}}\n"
    with pytest.raises(ShowError) as err:
        validate_text(bad, tmp_path / "bad.yaml")
    text = str(err.value)
    assert ":2: show.reload.when: 'later' is not one of now, section_end" in text
    assert ":2: show.reload.crossfade_s: must be a number >= 0, got -1" in text


def test_try_reload_keeps_the_current_show_on_a_broken_file(tmp_path: Path) -> None:
    """Rollback: a file that fails validation returns the current show and the error text."""
    current = make_show(tmp_path, "{when: now}", (4,))
    path = tmp_path / "broken.yaml"
    path.write_text("models:\n  m: {path: m.pkl}\nsections: []\n")
    show, error = try_reload(path, current)
    assert show is current
    assert error is not None and "broken.yaml:3: sections" in error
    path.write_text(
        "models:\n  m: {path: m.pkl}\n"
        "sections:\n  - {name: a, model: m, duration_s: 1, walk: {path: noise_loop}}\n"
    )
    show, error = try_reload(path, current)
    assert error is None and show is not current and show.sections[0].name == "a"
